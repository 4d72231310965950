package lca

import (
	"fmt"
	"math"
	"path/filepath"
)

// ClassRun is a set's per-class allocation read into memory: per class c and iteration t (rows
// of losses_class.csv) and the per-class, per-layer files.
type ClassRun struct {
	Counts               []int       // n_c
	Before, After        [][]float64 // [c][t]: L_c(θ_t), L_c(θ_{t+1})
	Sum, Err             [][]float64 // [c][t]: ΣLCA_c, |ΔL_c − ΣLCA_c|
	Layers, HelpedLayers *npy3       // T × C × L
}

// npy3 is a T × C × L array: Layers.At(t, c, l).
type npy3 struct {
	C, L int
	Data []float64
}

func (a *npy3) At(t, c, l int) float64 { return a.Data[(t*a.C+c)*a.L+l] }

// readClasses reads a set's per-class files: T iterations, exactly or (prefix) the first T of
// files that may hold more.
func readClasses(dir string, meta *Meta, T int, prefix bool) (*ClassRun, error) {
	C, L := meta.Classes, len(meta.Layers)
	var rows [][]string
	var err error
	if prefix {
		rows, err = readCSVPrefix(filepath.Join(dir, ClassLossesFile), T*C)
	} else {
		rows, err = readCSV(filepath.Join(dir, ClassLossesFile))
	}
	if err != nil {
		return nil, err
	}
	if len(rows) != T*C {
		return nil, fmt.Errorf("%s: %d rows for %d iterations of %d classes", filepath.Join(dir, ClassLossesFile), len(rows), T, C)
	}
	cr := &ClassRun{Counts: make([]int, C)}
	for _, p := range []*[][]float64{&cr.Before, &cr.After, &cr.Sum, &cr.Err} {
		*p = make([][]float64, C)
	}
	for k, row := range rows {
		c := k % C
		if len(row) != len(classLossesHeader) || atoi(row[1]) != c {
			return nil, fmt.Errorf("%s: row %d is %v, want class %d of iteration %d", filepath.Join(dir, ClassLossesFile), k+2, row, c, k/C)
		}
		cr.Counts[c] = atoi(row[2])
		cr.Before[c] = append(cr.Before[c], parseF(row[3]))
		cr.After[c] = append(cr.After[c], parseF(row[4]))
		cr.Sum[c] = append(cr.Sum[c], parseF(row[6]))
		cr.Err[c] = append(cr.Err[c], parseF(row[7]))
	}
	for _, f := range []struct {
		name string
		dst  **npy3
	}{{ClassLayersFile, &cr.Layers}, {ClassHelpedFile, &cr.HelpedLayers}} {
		read := readShaped
		if prefix {
			read = readPrefix
		}
		m, err := read(dir, f.name, T, C*L)
		if err != nil {
			return nil, err
		}
		*f.dst = &npy3{C: C, L: L, Data: m.Data}
	}
	return cr, nil
}

// ClassSummary is one class's headline numbers.
type ClassSummary struct {
	Class      int       `json:"class"`
	Examples   int       `json:"examples"`
	LossStart  float64   `json:"loss_start"`
	LossEnd    float64   `json:"loss_end"`
	DeltaLoss  float64   `json:"delta_loss"`
	SumLCA     float64   `json:"sum_lca"`
	RelErr     float64   `json:"relative_error"`
	MaxIterErr float64   `json:"max_iteration_error"` // over iterations with n < max
	HelpedMean float64   `json:"helped_fraction_mean"`
	Layers     []float64 `json:"layer_totals"` // Σ over iterations of the class's per-layer LCA
	Peaks      int       `json:"peaks"`        // learning peaks of the class's ΣLCA_c series
}

// summarizeClasses fills in the per-class numbers and the synchronisation of learning peaks
// across classes: the same definition as across layers (Peaks, Synchronisation), on each
// class's per-iteration ΣLCA_c.
func summarizeClasses(r *Run, s *Summary) {
	cr, m := r.Classes, r.Meta
	T, L := len(r.Sum), len(m.Layers)
	var size []float64
	for _, name := range m.Layers {
		n := 0
		for _, p := range m.Params {
			if p.Layer == name {
				n += p.Size
			}
		}
		size = append(size, float64(n))
	}
	peaks := make([][]int, len(cr.Counts))
	for c, n := range cr.Counts {
		cs := ClassSummary{Class: c, Examples: n, Layers: make([]float64, L)}
		if T == 0 {
			s.Classes = append(s.Classes, cs)
			continue
		}
		cs.LossStart, cs.LossEnd = cr.Before[c][0], cr.After[c][T-1]
		cs.DeltaLoss = cs.LossEnd - cs.LossStart
		series := make([]float64, T)
		for t := range T {
			cs.SumLCA += cr.Sum[c][t]
			if r.N[t] < m.Integrator.MaxN || m.Integrator.FirstOrder {
				cs.MaxIterErr = math.Max(cs.MaxIterErr, cr.Err[c][t])
			}
			var helped float64
			for l := range L {
				v := cr.Layers.At(t, c, l)
				cs.Layers[l] += v
				series[t] += v
				helped += cr.HelpedLayers.At(t, c, l) * size[l]
			}
			cs.HelpedMean += helped / float64(m.D)
		}
		cs.HelpedMean /= float64(T)
		cs.RelErr = math.Abs(cs.DeltaLoss-cs.SumLCA) / math.Abs(cs.DeltaLoss)
		peaks[c] = Peaks(series)
		cs.Peaks = len(peaks[c])
		s.Classes = append(s.Classes, cs)
	}
	sync := Synchronisation(peaks, T, 200, 1)
	sync.Definition = "across classes, with each class's per-iteration ΣLCA_c in place of a layer's LCA: " + sync.Definition
	s.ClassSync = &sync
}
