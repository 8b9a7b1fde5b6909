// Darwin's <sys/sysctl.h> for the model build (tests/darwin_model): glibc
// removed its own; sysctlbyname is tunnel/darwin/sys.hpp's.
#pragma once

#include <sys/types.h>
