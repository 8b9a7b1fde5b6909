// Going to the background as a daemon does: fork (the parent exits 0), a new
// session, stdio on /dev/null. Throws SystemError naming `what`.
#pragma once

namespace feth {

void detach_from_terminal(const char* what);

// Detaching without a fork (the process stays the child of its parent,
// as feth-ssh's two parts must): a new session, the working directory /,
// stdio on /dev/null. Failures are logged at debug level, naming `what`.
void detach_in_place(const char* what);

} // namespace feth
