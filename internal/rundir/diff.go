package rundir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Difference is one configuration field whose saved value and flags' value differ.
type Difference struct {
	Field string // dotted JSON path: optimizer.lr
	Saved string // the saved value as JSON, or NotSet
	Flags string
}

// NotSet stands for a field that one side does not hold (or holds as its zero value).
const NotSet = "(not set)"

func (d Difference) String() string {
	return fmt.Sprintf("%s: saved %s, flags %s", d.Field, d.Saved, d.Flags)
}

// Diff compares two configurations field by field, as they are saved: both are turned into
// JSON (a json.RawMessage is taken as it is, so a file's bytes can be passed unparsed) and the
// objects are walked key by key. Fields named in mutable (dotted paths; a path covers
// everything under it) are skipped. A field absent on one side equals its zero value on the
// other (0, false, "", null, [] or {}): that is what decoding an older file gives, and how
// omitempty writes. Numbers compare by value, so 1e-08 equals 1e-8. A field the saved file
// holds that the flags' configuration does not know is a difference too: resuming an LCA run
// with gaze train shows as "lca: saved {...}, flags (not set)".
func Diff(saved, flags any, mutable []string) ([]Difference, error) {
	a, err := decode(saved)
	if err != nil {
		return nil, fmt.Errorf("saved configuration: %w", err)
	}
	b, err := decode(flags)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	var out []Difference
	walk("", a, b, mutable, &out)
	return out, nil
}

func decode(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

func isMutable(path string, mutable []string) bool {
	for _, m := range mutable {
		if path == m || strings.HasPrefix(path, m+".") {
			return true
		}
	}
	return false
}

func walk(path string, a, b any, mutable []string, out *[]Difference) {
	if path != "" && isMutable(path, mutable) {
		return
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			walk(p, am[k], bm[k], mutable, out)
		}
		return
	}
	if !equal(a, b) {
		*out = append(*out, Difference{Field: path, Saved: show(a), Flags: show(b)})
	}
}

// equal compares decoded JSON values, with an absent value equal to any zero value.
func equal(a, b any) bool {
	if isZero(a) || isZero(b) {
		return isZero(a) && isZero(b)
	}
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		return ok && sameNumber(a, b)
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range a {
			if !equal(v, b[k]) {
				return false
			}
		}
		for k, v := range b {
			if _, ok := a[k]; !ok && !isZero(v) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	}
	return a == b // strings and booleans
}

func sameNumber(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, ok1 := new(big.Rat).SetString(string(a))
	y, ok2 := new(big.Rat).SetString(string(b))
	return ok1 && ok2 && x.Cmp(y) == 0
}

func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		return ok && r.Sign() == 0
	case []any:
		return len(v) == 0
	case map[string]any:
		for _, x := range v {
			if !isZero(x) {
				return false
			}
		}
		return true
	}
	return false
}

func show(v any) string {
	if v == nil {
		return NotSet
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
