// Darwin's <sys/ioctl.h> for the model build (tests/darwin_model): the
// Darwin backends call ioctl through tunnel/darwin/sys.hpp, so only the
// request numbers are needed, never Linux's (which would clash).
#pragma once

#include <sys/sockio.h>
