package rundir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// IdentityField is the configuration field that holds a run's identity (see Identity). Diff
// never compares it: it is derived from the configuration and the initial parameters.
const IdentityField = "identity"

// Identity is a run's identity: the SHA-256 of its canonical configuration followed by its
// initial parameters θ₀, as 32 hexadecimal digits. The canonical configuration is the JSON that
// Diff compares, without the fields skip names (those a resumed run may change, and derived
// ones) and without zero values (which Diff takes as absent), with keys sorted: so the identity
// of a run does not change when it is continued with more epochs or read by a later version
// that added a field. Two runs with the same configuration but another seed have other θ₀ (and
// other seeds in the configuration): their files never pass for each other's.
func Identity(cfg any, skip []string, theta0 []byte) (string, error) {
	v, err := decode(cfg)
	if err != nil {
		return "", fmt.Errorf("identity: %w", err)
	}
	v = canonical("", v, append(append([]string(nil), skip...), IdentityField))
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("identity: %w", err)
	}
	h := sha256.New()
	h.Write(b)
	h.Write([]byte{0})
	h.Write(theta0)
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// canonical drops the skipped paths and the zero values under path.
func canonical(path string, v any, skip []string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		p := k
		if path != "" {
			p = path + "." + k
		}
		if isMutable(p, skip) {
			continue
		}
		x = canonical(p, x, skip)
		if isZero(x) {
			continue
		}
		out[k] = x
	}
	return out
}

// IdentityMismatch is the error for a file that carries another run's identity.
func IdentityMismatch(what, got, want string) error {
	return fmt.Errorf("%s belongs to another run: its identity is %s, this run's is %s (same model, but another configuration, seed or initialisation)",
		what, short(got), short(want))
}

func short(id string) string {
	if id == "" {
		return "(none)"
	}
	return strings.TrimSpace(id)
}
