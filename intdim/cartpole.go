package intdim

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/models"
)

// The inverted-pendulum row of the paper's Table 1: balancing a pole on a cart, the classic
// control problem of Barto, Sutton and Anderson ("Neuronlike adaptive elements that can solve
// difficult learning control problems", IEEE Trans. SMC 13(5), 1983), with the equations of
// motion, constants, integration and episode rules of OpenAI Gym's CartPole-v1
// (gym/envs/classic_control/cartpole.py):
//
//	F = ±10 N (action 1 pushes right, action 0 left)
//	temp = (F + m_p·l·θ̇²·sin θ) / (m_c + m_p)
//	θ̈ = (g·sin θ − cos θ·temp) / (l·(4/3 − m_p·cos²θ/(m_c + m_p)))
//	ẍ = temp − m_p·l·θ̈·cos θ / (m_c + m_p)
//
// with g = 9.8, cart mass m_c = 1.0, pole mass m_p = 0.1, l = 0.5 (half the pole's length), and
// explicit Euler steps of τ = 0.02 s that update x, ẋ, θ, θ̇ from the old state (x += τ·ẋ,
// ẋ += τ·ẍ, θ += τ·θ̇, θ̇ += τ·θ̈). Every step earns reward 1, the failing one included; an
// episode ends when |x| > 2.4 or |θ| > 12° (2π·12/360 rad) or after 500 steps, so returns lie in
// 1 … 500. Each of the four state variables starts uniform in [−0.05, 0.05], drawn from a PCG
// stream named by the episode's seed: every episode is reproducible.
const (
	cpGravity   = 9.8
	cpMassCart  = 1.0
	cpMassPole  = 0.1
	cpTotalMass = cpMassCart + cpMassPole
	cpLength    = 0.5 // half the pole's length
	cpPoleML    = cpMassPole * cpLength
	cpForce     = 10.0
	cpTau       = 0.02
	// CartPoleXLimit and CartPoleThetaLimit end an episode when exceeded.
	CartPoleXLimit     = 2.4
	CartPoleThetaLimit = 12 * 2 * math.Pi / 360
	// CartPoleMaxSteps is the length of an episode that never fails, and so the best return.
	CartPoleMaxSteps = 500
)

// CartPole is the state of one episode.
type CartPole struct {
	X, XDot, Theta, ThetaDot float64
	Steps                    int  // steps taken
	Done                     bool // the pole fell, the cart left the track or 500 steps passed
}

// NewCartPole starts an episode from the initial state that seed names.
func NewCartPole(seed uint64) CartPole {
	r := rand.New(rand.NewPCG(seed, 0xca27901e))
	u := func() float64 { return -0.05 + 0.1*r.Float64() }
	return CartPole{X: u(), XDot: u(), Theta: u(), ThetaDot: u()}
}

// Step applies action 1 (push right) or 0 (push left) for τ seconds and returns the reward,
// 1, and whether the episode is over. A finished episode takes no more steps (reward 0).
func (c *CartPole) Step(action int) (reward float64, done bool) {
	if c.Done {
		return 0, true
	}
	f := -cpForce
	if action == 1 {
		f = cpForce
	}
	sin, cos := math.Sincos(c.Theta)
	temp := (f + cpPoleML*c.ThetaDot*c.ThetaDot*sin) / cpTotalMass
	thetaAcc := (cpGravity*sin - cos*temp) / (cpLength * (4.0/3.0 - cpMassPole*cos*cos/cpTotalMass))
	xAcc := temp - cpPoleML*thetaAcc*cos/cpTotalMass
	c.X += cpTau * c.XDot
	c.XDot += cpTau * xAcc
	c.Theta += cpTau * c.ThetaDot
	c.ThetaDot += cpTau * thetaAcc
	c.Steps++
	c.Done = c.X < -CartPoleXLimit || c.X > CartPoleXLimit || c.Theta < -CartPoleThetaLimit || c.Theta > CartPoleThetaLimit ||
		c.Steps >= CartPoleMaxSteps
	return 1, c.Done
}

// State is the observation a policy sees: (x, ẋ, θ, θ̇).
func (c *CartPole) State() [4]float64 { return [4]float64{c.X, c.XDot, c.Theta, c.ThetaDot} }

// CartPoleModelName is the model (and data) name of the cart-pole task in sweeps.
const CartPoleModelName = "cartpole"

// The policy is an MLP 4-20-20-2 with ReLU (D = 562) whose larger output picks the action:
// the reference code's cart-pole networks are fully connected with depth 2 and width 20
// (intrinsic_dim/scripts/more/loop_d_cartpole_fnn_wd.sh, He-normal initialisation in
// model_builders_rl.py), and 562 is the parameter count of the paper's inverted-pendulum row
// as we read its Table 1. It is an ordinary engine model (models.MLP), so its θ has the
// arena's layout: fc1.weight [20, 4], fc1.bias, fc2.weight [20, 20], fc2.bias, fc3.weight
// [2, 20], fc3.bias, with He-normal weights and zero biases from Model.Init.
var cartPoleWidths = []int{4, 20, 20, 2}

// NewCartPoleModel builds the policy network on dev (it is run on the host by Policy; the
// model gives θ its layout, initialisation and layer segments).
func NewCartPoleModel(dev engine.Device) (*engine.Model, error) {
	net, err := models.MLP(CartPoleModelName, cartPoleWidths)
	if err != nil {
		return nil, err
	}
	return engine.NewModel(dev, CartPoleModelName, net, []int{cartPoleWidths[0], 1, 1}, engine.SoftmaxCrossEntropy, 1)
}

// cartPoleD is the policy's parameter count.
func cartPoleD() int {
	d := 0
	for i := 1; i < len(cartPoleWidths); i++ {
		d += cartPoleWidths[i-1]*cartPoleWidths[i] + cartPoleWidths[i]
	}
	return d
}

// Policy runs the 4-20-20-2 network on the host in float64 from θ in arena order: an episode is
// hundreds of tiny forward passes, far below what a device call costs.
type Policy struct {
	theta  []float32
	h1, h2 [20]float64
}

// NewPolicy wraps θ (562 values, not copied).
func NewPolicy(theta []float32) (*Policy, error) {
	if len(theta) != cartPoleD() {
		return nil, fmt.Errorf("cart-pole policy: θ has %d values, want %d", len(theta), cartPoleD())
	}
	return &Policy{theta: theta}, nil
}

// Logits returns the network's two outputs for state s.
func (p *Policy) Logits(s [4]float64) [2]float64 {
	th := p.theta
	dense := func(in []float64, out []float64, off int) int {
		n, m := len(in), len(out)
		w, b := th[off:off+m*n], th[off+m*n:off+m*n+m]
		for o := range out {
			acc := float64(b[o])
			for i, v := range in {
				acc += float64(w[o*n+i]) * v
			}
			out[o] = acc
		}
		return off + m*n + m
	}
	relu := func(v []float64) {
		for i := range v {
			v[i] = max(v[i], 0)
		}
	}
	off := dense(s[:], p.h1[:], 0)
	relu(p.h1[:])
	off = dense(p.h1[:], p.h2[:], off)
	relu(p.h2[:])
	var out [2]float64
	dense(p.h2[:], out[:], off)
	return out
}

// Act is the greedy action: 1 when the second output is larger, else 0.
func (p *Policy) Act(s [4]float64) int {
	if l := p.Logits(s); l[1] > l[0] {
		return 1
	}
	return 0
}

// Episode runs the policy for one episode from the initial state seed names and returns its
// return (the number of steps survived, at most 500).
func (p *Policy) Episode(seed uint64) float64 {
	env := NewCartPole(seed)
	var ret float64
	for !env.Done {
		r, _ := env.Step(p.Act(env.State()))
		ret += r
	}
	return ret
}
