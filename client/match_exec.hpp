// ssh_config's "Match exec COMMAND", run as ssh's execute_in_shell does:
// $SHELL (else /bin/sh) -c COMMAND, stdin and stdout on /dev/null, stderr
// the user's, waited for; its exit status decides the match.
#pragma once

#include <string>

namespace feth::client {

// The exit status, or -1 when it did not exit (a signal) or could not be
// started (said on stderr).
int run_match_exec(const std::string& command);

} // namespace feth::client
