/* The OpenCL and CLBlast functions the backend calls, reached through pointers filled by
 * dlopen at run time, so libdimix starts on a machine without an OpenCL ICD loader or CLBlast
 * (the backend then has no devices, or GEMM uses cl/gemm.cl). Each name below is redefined
 * to its pointer, so the backend's code reads as plain OpenCL. */
#ifndef DMX_OPENCL_CL_API_H
#define DMX_OPENCL_CL_API_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <clblast_c.h>
#include <stdbool.h>
#include <stddef.h>

#define DMX_CL_FUNCTIONS(X)                                                                  \
    X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo)            \
    X(clCreateContext) X(clReleaseContext) X(clCreateCommandQueue) X(clReleaseCommandQueue)  \
    X(clFinish) X(clCreateBuffer) X(clReleaseMemObject) X(clEnqueueCopyBuffer)               \
    X(clEnqueueWriteBuffer) X(clEnqueueReadBuffer) X(clCreateProgramWithSource)              \
    X(clCreateProgramWithBinary) X(clBuildProgram) X(clGetProgramInfo)                       \
    X(clGetProgramBuildInfo) X(clReleaseProgram) X(clCreateKernelsInProgram)                 \
    X(clGetKernelInfo) X(clGetKernelWorkGroupInfo) X(clSetKernelArg) X(clReleaseKernel)      \
    X(clEnqueueNDRangeKernel) X(clWaitForEvents) X(clGetEventProfilingInfo) X(clReleaseEvent)

#define DMX_CLBLAST_FUNCTIONS(X) X(CLBlastSgemmStridedBatched) X(CLBlastClearCache)

typedef struct dmx_cl_api {
#define DMX_CL_POINTER(name) __typeof__(name) *name;
    DMX_CL_FUNCTIONS(DMX_CL_POINTER)
    DMX_CLBLAST_FUNCTIONS(DMX_CL_POINTER)
#undef DMX_CL_POINTER
} dmx_cl_api;

extern dmx_cl_api dmx_cl_fn;

/* Loads the ICD loader (DIMIX_OPENCL_LIBRARY, else libOpenCL.so.1) once; false with the
 * reason in `why` when it or one of its functions is missing. Thread-safe. */
bool dmx_cl_api_load(char *why, size_t cap);

/* Loads CLBlast (DIMIX_CLBLAST_LIBRARY, else libclblast.so.1) once; false when it is absent
 * (a warning through the log says GEMM falls back to dimix's own kernel). Thread-safe. */
bool dmx_cl_clblast_load(void);

#ifndef DMX_CL_API_IMPLEMENTATION
#define DMX_CL_REDIRECT(name) dmx_cl_fn.name
#define clGetPlatformIDs DMX_CL_REDIRECT(clGetPlatformIDs)
#define clGetPlatformInfo DMX_CL_REDIRECT(clGetPlatformInfo)
#define clGetDeviceIDs DMX_CL_REDIRECT(clGetDeviceIDs)
#define clGetDeviceInfo DMX_CL_REDIRECT(clGetDeviceInfo)
#define clCreateContext DMX_CL_REDIRECT(clCreateContext)
#define clReleaseContext DMX_CL_REDIRECT(clReleaseContext)
#define clCreateCommandQueue DMX_CL_REDIRECT(clCreateCommandQueue)
#define clReleaseCommandQueue DMX_CL_REDIRECT(clReleaseCommandQueue)
#define clFinish DMX_CL_REDIRECT(clFinish)
#define clCreateBuffer DMX_CL_REDIRECT(clCreateBuffer)
#define clReleaseMemObject DMX_CL_REDIRECT(clReleaseMemObject)
#define clEnqueueCopyBuffer DMX_CL_REDIRECT(clEnqueueCopyBuffer)
#define clEnqueueWriteBuffer DMX_CL_REDIRECT(clEnqueueWriteBuffer)
#define clEnqueueReadBuffer DMX_CL_REDIRECT(clEnqueueReadBuffer)
#define clCreateProgramWithSource DMX_CL_REDIRECT(clCreateProgramWithSource)
#define clCreateProgramWithBinary DMX_CL_REDIRECT(clCreateProgramWithBinary)
#define clBuildProgram DMX_CL_REDIRECT(clBuildProgram)
#define clGetProgramInfo DMX_CL_REDIRECT(clGetProgramInfo)
#define clGetProgramBuildInfo DMX_CL_REDIRECT(clGetProgramBuildInfo)
#define clReleaseProgram DMX_CL_REDIRECT(clReleaseProgram)
#define clCreateKernelsInProgram DMX_CL_REDIRECT(clCreateKernelsInProgram)
#define clGetKernelInfo DMX_CL_REDIRECT(clGetKernelInfo)
#define clGetKernelWorkGroupInfo DMX_CL_REDIRECT(clGetKernelWorkGroupInfo)
#define clSetKernelArg DMX_CL_REDIRECT(clSetKernelArg)
#define clReleaseKernel DMX_CL_REDIRECT(clReleaseKernel)
#define clEnqueueNDRangeKernel DMX_CL_REDIRECT(clEnqueueNDRangeKernel)
#define clWaitForEvents DMX_CL_REDIRECT(clWaitForEvents)
#define clGetEventProfilingInfo DMX_CL_REDIRECT(clGetEventProfilingInfo)
#define clReleaseEvent DMX_CL_REDIRECT(clReleaseEvent)
#define CLBlastSgemmStridedBatched DMX_CL_REDIRECT(CLBlastSgemmStridedBatched)
#define CLBlastClearCache DMX_CL_REDIRECT(CLBlastClearCache)
#endif

#endif
