# CUDA programs (the demo, the benchmark programs) are built here and often run on another
# machine, the build folder carried to a GPU server: they carry their own device code and
# CUDA runtime, and look for cuBLAS and CUPTI in the toolkit folders of both kinds of
# machine (/usr/local/cuda/lib64 on this one, the versioned targets/ folder on the servers).
set(BRRR_CUDA_RPATH
    "/usr/local/cuda/extras/CUPTI/lib64;/usr/local/cuda/targets/x86_64-linux/lib;/usr/local/cuda/lib64;/usr/local/cuda-13.0/targets/x86_64-linux/lib")

function(brrr_cuda_program target)
  add_executable(${target} ${ARGN})
  set_target_properties(${target} PROPERTIES
    # sm_90 machine code for the H100, sm_80 code plus PTX for anything else from Ampere on.
    CUDA_ARCHITECTURES "80;90"
    # CMake 3.25 knows nvcc's dialect flags only up to C++17; the CUDA sources need no more.
    CUDA_STANDARD 17
    CUDA_STANDARD_REQUIRED ON
    CUDA_RUNTIME_LIBRARY Static
    # The same search path in the build tree and when installed.
    BUILD_WITH_INSTALL_RPATH ON
    INSTALL_RPATH "${BRRR_CUDA_RPATH}")
  # Line information lets a profiler map SASS back to the source; it does not change the code.
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-lineinfo -Xcompiler=-Wall,-Wextra>)
  target_include_directories(${target} PRIVATE "${PROJECT_SOURCE_DIR}/examples/common")
  target_link_libraries(${target} PRIVATE CUDA::cudart_static)
endfunction()
