// The words the config's algorithm lists (config/algorithm_list.hpp) and
// libssh's answer (tunnel/ssh_algorithms.hpp) share, with neither libssh
// nor the config in it: which list, whose defaults, and the question "does
// the linked libssh implement this name", so that the config can ask it
// without depending on libssh and tests can answer it themselves.
#pragma once

#include <functional>
#include <string_view>

namespace feth {

enum class AlgorithmKind { Cipher, Kex };
// Whose defaults: OpenSSH's sshd offers fewer key exchanges than its ssh
// (no finite-field Diffie-Hellman).
enum class AlgorithmRole { Server, Client };

// Does the linked libssh implement this name, for this kind?
using AlgorithmSupport = std::function<bool(AlgorithmKind, std::string_view)>;

} // namespace feth
