// Package images names gaze's container images, so that every generator of cluster jobs (intdim's
// sweeps today, LCA's range jobs later) defaults to the image `make image` builds.
package images

const (
	// CUDA is the GPU batch image: Dockerfile.cuda's default target, tagged by `make image`
	// (the Makefile's GAZE_IMAGE). Clusters pull it from a registry: push it there and pass
	// --image REGISTRY/gaze:cuda (README, "Batch jobs in containers").
	CUDA = "gaze:cuda"
	// CPU is the image without CUDA (target cpu; the Makefile's GAZE_IMAGE_CPU).
	CPU = "gaze:cpu"
)

// UID and GID of the unprivileged user gaze's images run as (Dockerfile.cuda's USER), for
// manifests that must make volumes writable to it (Kubernetes' fsGroup).
const (
	UID = 10001
	GID = 10001
)
