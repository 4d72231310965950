#!/bin/sh
# /usr/local/bin/gaze in the CUDA image (Dockerfile.cuda). The CUDA build of gaze links the NVIDIA
# driver's libcuda.so.1, which only the host provides, mounted by the NVIDIA container toolkit.
# Without it the dynamic loader would stop with "error while loading shared libraries"; this asks
# the loader first (LD_TRACE_LOADED_OBJECTS resolves the libraries exactly as a real start would,
# LD_LIBRARY_PATH included, without running the program) and says what to do instead. With the
# driver present it execs gaze, which stays PID 1 and gets the signals.
gaze=/usr/local/lib/gaze/gaze
case "$(LD_TRACE_LOADED_OBJECTS=1 "$gaze" 2>&1)" in
*"libcuda.so.1 => not found"*)
	cat >&2 <<'EOF'
gaze: this is the CUDA image of gaze and needs an NVIDIA GPU with its driver, but the driver's
libcuda.so.1 is not in this container. Run it with the GPU: `docker run --gpus all ...` (NVIDIA
container toolkit) or `podman run --device nvidia.com/gpu=all ...` (CDI); on a machine without a GPU,
use the CPU image (gaze:cpu, `make image`) with --device cpu.
EOF
	exit 1
	;;
esac
exec "$gaze" "$@"
