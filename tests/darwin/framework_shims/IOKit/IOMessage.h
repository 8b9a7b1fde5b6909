/* Our declarations of the IOKit power messages that feth-ssh uses, for the
 * Darwin compile check only (see ../README.md); not Apple's header. Each is
 * an IOKit common message: system 0x38, subsystem 0, then the code. */
#pragma once

#include <mach/error.h>
#include <stdint.h>

#define kIOMessageCanSystemSleep ((uint32_t)(err_system(0x38) | err_sub(0) | 0x270))
#define kIOMessageSystemWillSleep ((uint32_t)(err_system(0x38) | err_sub(0) | 0x280))
#define kIOMessageSystemHasPoweredOn ((uint32_t)(err_system(0x38) | err_sub(0) | 0x300))
