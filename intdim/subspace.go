package intdim

import (
	"fmt"

	"github.com/gazeml/gaze/engine"
)

// Subspace trains a model in the random subspace θ = θ₀ + P·θ_d. It is the trainer's
// engine.Reparam: Expand writes θ from θ_d, Project turns ∇θ (with the L2 gradient already
// added, so L2 acts on the full θ) into g_d = Pᵀ·∇θ, and the optimizer updates θ_d only.
type Subspace struct {
	Model  *engine.Model
	Proj   Projection
	Theta0 engine.Buffer // the frozen initial point
	vars   *engine.Arena // θ_d and g_d
}

// NewSubspace freezes the model's current θ as θ₀ (initialise the model first) and starts θ_d
// at zero, so the first Expand reproduces θ₀ exactly.
func NewSubspace(m *engine.Model, p Projection) (*Subspace, error) {
	D, d := p.Dims()
	if D != m.Arena.D {
		return nil, fmt.Errorf("subspace: the projection has %d rows but model %s has %d parameters", D, m.Name, m.Arena.D)
	}
	vars, err := engine.NewVectorArena(m.Dev, "subspace", d)
	if err != nil {
		return nil, fmt.Errorf("subspace: θ_d: %w", err)
	}
	th0, err := m.Dev.Alloc(D)
	if err != nil {
		m.Dev.Free(vars.Theta)
		m.Dev.Free(vars.Grad)
		return nil, fmt.Errorf("subspace: θ₀: %w", err)
	}
	m.Dev.Copy(th0, m.Arena.Theta)
	return &Subspace{Model: m, Proj: p, Theta0: th0, vars: vars}, m.Dev.Sync()
}

// Expand writes θ = θ₀ + P·θ_d into the model's arena.
func (s *Subspace) Expand() error {
	dev := s.Model.Dev
	dev.Copy(s.Model.Arena.Theta, s.Theta0)
	s.Proj.Apply(s.vars.Theta, s.Model.Arena.Theta)
	return nil
}

// Project writes g_d = Pᵀ·∇θ into the variables' gradient.
func (s *Subspace) Project() error {
	s.Proj.ApplyT(s.Model.Arena.Grad, s.vars.Grad)
	return nil
}

// VarArena is θ_d's arena, for engine.NewOptimizer.
func (s *Subspace) VarArena() *engine.Arena { return s.vars }

// ThetaD copies θ_d to the host.
func (s *Subspace) ThetaD() []float32 {
	out := make([]float32, s.vars.D)
	s.Model.Dev.Download(out, s.vars.Theta)
	return out
}

// Close frees θ₀ and θ_d (not the projection or the model).
func (s *Subspace) Close() {
	dev := s.Model.Dev
	dev.Free(s.Theta0)
	dev.Free(s.vars.Theta)
	dev.Free(s.vars.Grad)
}
