// The terminal belongs to the root part (privsep.hpp): the SSH part leaves
// it (leave_terminal), the root part relays its output and asks the user
// for it. Internal to feth_client_privsep.
#pragma once

#include <optional>
#include <string>

namespace feth::client {

// Asks on the controlling terminal (/dev/tty): `prompt` written, one line
// read (echo off unless `echo`), at most 1 KiB kept. nullopt when there is
// no terminal, or when `signal_fd` (the root part's SignalPipe, -1: none)
// became readable first: the user asked to stop.
std::optional<std::string> ask_on_terminal(const std::string& prompt, bool echo, int signal_fd);

// What the root part asks with: SSH_ASKPASS where ssh would use it
// (SSH_ASKPASS_REQUIRE force or prefer, or no terminal but a display),
// the terminal otherwise. nullopt: unanswered.
std::optional<std::string> ask_user(const std::string& prompt, bool echo, int signal_fd);

// Copies what is readable on `from` to `to`, every control character but
// newline and tab, and every byte from 0x7f, shown as '?', so that the SSH part cannot drive the
// user's terminal. Returns false at end of file (or an error).
bool relay_output(int from, int to);

} // namespace feth::client
