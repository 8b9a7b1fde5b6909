// OpenSSH's algorithm lists, as sshd_config and ssh_config take them for
// Ciphers and KexAlgorithms (kex_assemble_names in OpenSSH's kex-names.c):
//
//   name,name   exactly these, in this order
//   +name,name  the defaults, then these
//   -pattern,.. the defaults without those matching ('*' and '?')
//   ^name,name  these, then the rest of the defaults
//
// One implementation for both keywords and both programs. The defaults are
// OpenSSH 10's, in its order (myproposal.h), kept to what the linked libssh
// implements: which names it implements is a question for libssh, asked
// through an AlgorithmSupport (tunnel/ssh_algorithms.hpp), so that this code
// stays free of libssh and testable with any answer.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "tunnel/ssh_algorithm_kinds.hpp"

namespace feth::config {

using feth::AlgorithmKind;
using feth::AlgorithmRole;
using feth::AlgorithmSupport;

// Every name known_algorithms() lists: the answer when no libssh is asked
// (unit tests, fuzzers).
bool every_known_algorithm(AlgorithmKind kind, std::string_view name);

// The keyword, for messages: "Ciphers", "KexAlgorithms".
std::string_view algorithm_keyword(AlgorithmKind kind);

// OpenSSH 10.5's defaults for the role, most preferred first (before
// filtering by what libssh implements).
std::span<const std::string_view> default_algorithms(AlgorithmKind kind, AlgorithmRole role);

// Every name OpenSSH or libssh has for the kind, defaults first: what an
// AlgorithmSupport is asked about and what error messages list.
std::span<const std::string_view> known_algorithms(AlgorithmKind kind);

// Checks one value as sshd and ssh do when they read the line: the shape
// (an optional +, - or ^, then a comma-separated list of non-empty names),
// and, except after '-' (patterns, possibly matching nothing), that every
// name is one libssh implements. Returns the problem ("" when none), e.g.
// "'foo' is not implemented by this libssh (it has: a,b,c)".
std::string algorithm_list_problem(std::string_view value, AlgorithmKind kind, const AlgorithmSupport& support);

// sshd's and ssh's words for a bad value, then ours for why:
// "Bad SSH2 cipher spec '<value>': <problem>", "Bad SSH2 KexAlgorithms ...".
std::string bad_algorithm_list(AlgorithmKind kind, std::string_view value, std::string_view problem);

// The effective list, comma-separated: `value` ("" for the defaults)
// applied to the defaults that libssh implements, duplicates dropped.
// Throws InputError (bad_algorithm_list) for a value algorithm_list_problem()
// rejects or one that leaves nothing.
std::string resolve_algorithm_list(std::string_view value, AlgorithmKind kind, AlgorithmRole role,
                                   const AlgorithmSupport& support);

} // namespace feth::config
