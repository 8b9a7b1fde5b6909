// What tests ask of the model of xnu beyond the system calls
// (tunnel/darwin/sys.hpp): faults the kernel rarely shows.
#pragma once

#include <cstdint>
#include <string>

#include "model_protocol.hpp"

namespace feth::darwin_model {

// Injects `fault` `count` times on interface `ifname`; 0 or -1 with errno.
int inject_fault(Fault fault, std::uint32_t count, const std::string& ifname);

} // namespace feth::darwin_model
