package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gazeml/gaze/engine"
)

// progressBar draws one status line on a terminal, or a line every 30 s elsewhere (logs).
type progressBar struct {
	w        io.Writer
	tty      bool
	quiet    bool
	last     time.Time
	drawn    bool
	interval time.Duration
}

func newProgressBar(w io.Writer, quiet bool) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	iv := 30 * time.Second
	if tty {
		iv = 200 * time.Millisecond
	}
	return &progressBar{w: w, tty: tty, quiet: quiet || w == nil, interval: iv, last: time.Now()}
}

func (p *progressBar) update(s engine.Progress) {
	if p.quiet || (time.Since(p.last) < p.interval && s.Iter != s.Total) {
		return
	}
	p.last = time.Now()
	const width = 24
	done := width * s.Iter / s.Total
	bar := strings.Repeat("=", done) + strings.Repeat(" ", width-done)
	eta := s.ETA.Round(time.Second)
	line := fmt.Sprintf("epoch %d [%s] it %d/%d  loss %.4f  %.0f ex/s  ETA %s", s.Epoch, bar, s.Iter, s.Total, s.Loss, s.ExPerSec, eta)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		p.drawn = true
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progressBar) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}
