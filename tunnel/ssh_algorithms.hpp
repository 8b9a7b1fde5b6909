// Which Ciphers and KexAlgorithms names the linked libssh implements, asked
// of libssh itself: a build without ML-KEM or sntrup761 (libssh 0.11), or a
// libssh in FIPS mode, implements fewer than OpenSSH's defaults list, and
// feth-sshd and feth-ssh must neither offer nor accept a name it lacks.
#pragma once

#include <libssh/libssh.h>

#include <string_view>

#include "tunnel/ssh_algorithm_kinds.hpp"

namespace feth {

// libssh's answer for one name, in the role the program has: a server's
// ssh_bind or a client's ssh_session is given the single name and refuses
// it when libssh does not implement it.
bool libssh_implements(AlgorithmRole role, AlgorithmKind kind, std::string_view name);

// libssh_implements() for the role, as the config parsers take it.
AlgorithmSupport libssh_algorithm_support(AlgorithmRole role);

// After the key exchange, at DEBUG1 as ssh and sshd do ("kex: algorithm:
// ..."): what the two sides agreed on.
void log_negotiated_algorithms(ssh_session session);

} // namespace feth
