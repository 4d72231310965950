//go:build cuda && cudaemu

// The kernels of kernels/*.cu compiled for the host (GZ_EMU, see kernels/emu.h), for the
// emulator build of engine/cuda.
#define GZ_EMU 1
#include "../../kernels/emu.h"

gz_dim3 threadIdx, blockIdx, blockDim, gridDim;

#include "../../kernels/conv.cu"
#include "../../kernels/coords.cu"
#include "../../kernels/elementwise.cu"
#include "../../kernels/gemm.cu"
#include "../../kernels/loss.cu"
#include "../../kernels/norm.cu"
#include "../../kernels/optim.cu"
#include "../../kernels/pool.cu"
#include "../../kernels/projection.cu"
#include "../../kernels/reduce.cu"
