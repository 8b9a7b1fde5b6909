// Text from a file or a peer that goes into an error message or a log line:
// printable ASCII kept, everything else shown as \xNN, cut at `limit`
// characters, so hostile input can neither forge lines nor flood a log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace feth::config {

std::string printable(std::string_view text, std::size_t limit = 64);

} // namespace feth::config
