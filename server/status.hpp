// What `feth-sshd -S` shows: one line per live tunnel. The listener maps a
// table of slots before it forks anything; each connection's monitor (root)
// maps it from the descriptor the listener hands its session program, and
// fills one slot per tunnel: who and where when it opens the device, the
// counters its unprivileged child reports (TunStats, at most once a second
// per tunnel), and frees the slot when it removes the device. The child
// never has the table: it is unmapped before the monitor execs it, and
// the descriptor closes on exec. The listener answers status
// requests on a root-only unix socket by reading the table, and frees the
// slots of a monitor that died without doing so. The counters come from
// the less trusted child, so what the table holds is printed escaped and
// treated as display data only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/fd.hpp"
#include "tunnel/pump.hpp"

namespace feth::server {

struct TunnelStatus {
    std::string user, remote_address, interface, io_interface, mode;
    unsigned remote_port = 0;
    std::int64_t started = 0; // unix seconds
    PumpStats stats;
};

// The counters a tunnel's line shows, as the child reports them.
struct TunnelCounters {
    // dropped: every frame dropped (oversize included); oversize: those of
    // them from the peer above the device's MTU plus header.
    std::uint64_t frames_out = 0, bytes_out = 0, frames_in = 0, bytes_in = 0, dropped = 0, device_busy = 0;
    std::uint64_t oversize = 0;
    bool operator==(const TunnelCounters&) const = default;
};
TunnelCounters counters_of(const PumpStats& stats);

// The listener creates the table once, before it forks anything, as shared
// memory with a descriptor (status_table_fd, -1 without a table), which
// each connection's session program gets across its exec and maps
// (attach_status_table; a descriptor of another size is refused).
void create_status_table();
int status_table_fd();
void attach_status_table(UniqueFd fd);

// In a connection's child, right after the fork: the table is gone from its
// address space (it never reads nor writes it).
void unmap_status_table();

// A monitor's claim on one slot, released when destroyed. Without a table
// (unmapped, or never created) it does nothing.
class StatusSlot {
public:
    StatusSlot(const std::string& user, const std::string& remote_address, unsigned remote_port,
               const Device& device);
    ~StatusSlot();
    StatusSlot(const StatusSlot&) = delete;
    StatusSlot& operator=(const StatusSlot&) = delete;
    void update(const TunnelCounters& counters);

    // MaxTunnels: under the table's lock, counts the slots `user` holds
    // over every connection (live tunnels and ones still opening) into
    // `in_use`, and claims one more unless that reaches `limit` (then
    // null). The slot stays hidden from feth-sshd -S until set_device.
    // Without a table, or with a full one, the slot holds nothing (the
    // caller counts its own tunnels then) and `in_use` is 0.
    static std::unique_ptr<StatusSlot> reserve(const std::string& user, const std::string& remote_address,
                                               unsigned remote_port, unsigned limit, unsigned& in_use);
    // The reserved tunnel's device is open: its line shows in feth-sshd -S.
    void set_device(const Device& device);
    // Whether this slot is in the shared table (counts for MaxTunnels).
    bool in_table() const { return index_ >= 0; }

private:
    struct Reserved {};

public:
    // reserve()'s empty slot (the tag keeps it private to this class).
    explicit StatusSlot(Reserved) {}

private:
    void fill_reserved(const std::string& user, const std::string& remote_address, unsigned remote_port);
    int index_ = -1;
};

// Listener: frees every slot `owner` (a monitor's pid, reaped) still held;
// a monitor killed with SIGKILL could not. Returns how many.
int release_status_slots(pid_t owner);

// Every slot in use, as the listener would print it.
std::vector<TunnelStatus> status_table_snapshot();

// Listener side: the root-only socket, and one answer per connection.
UniqueFd open_status_socket(const std::string& path);
void answer_status_request(int listen_fd);

// `feth-sshd -S`: asks the running server and prints its answer.
int print_status(const std::string& socket_path, bool json);

// For tests: the text and JSON renderings of a list of tunnels.
std::string render_status(const std::vector<TunnelStatus>& tunnels, bool json, std::int64_t now);

} // namespace feth::server
