// Going to the background as a daemon does: fork (the parent exits 0), a new
// session, stdio on /dev/null. Throws SystemError naming `what`.
#pragma once

namespace feth {

void detach_from_terminal(const char* what);

} // namespace feth
