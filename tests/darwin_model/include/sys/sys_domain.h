// Darwin's <sys/sys_domain.h> for the model build (tests/darwin_model).
#pragma once

#include "../../abi.hpp"

#define SYSPROTO_CONTROL (::feth::darwin_model::kSysprotoControl)
#define AF_SYS_CONTROL (::feth::darwin_model::kAfSysControl)
