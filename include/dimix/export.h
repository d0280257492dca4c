/* Symbol visibility: the shared library exports only what is marked DMX_API. */
#ifndef DIMIX_EXPORT_H
#define DIMIX_EXPORT_H
#if defined(_WIN32)
#define DMX_API
#elif defined(__GNUC__)
#define DMX_API __attribute__((visibility("default")))
#else
#define DMX_API
#endif
#endif
