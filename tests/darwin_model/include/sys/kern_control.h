// Darwin's <sys/kern_control.h> for the model build (tests/darwin_model).
#pragma once

#include <sys/types.h>

#include "../../abi.hpp"

#define MAX_KCTL_NAME (::feth::darwin_model::kMaxKctlName)
#define CTLIOCGINFO (::feth::darwin_model::kCtliocGinfo)

struct ctl_info : ::feth::darwin_model::DarwinCtlInfo {};
struct sockaddr_ctl : ::feth::darwin_model::DarwinSockaddrCtl {};
