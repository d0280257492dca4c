/* The version of the library that is loaded (the headers' macros may be another build's). */
#include "dimix/version.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *dmx_version(void)
{
    return STR(DIMIX_VERSION_MAJOR) "." STR(DIMIX_VERSION_MINOR) "." STR(DIMIX_VERSION_PATCH);
}

int dmx_version_number(void)
{
    return DIMIX_VERSION_NUMBER;
}
