// The veth pair of the "pair" backend (pair_device.cpp): made, found and
// removed through rtnetlink, nothing about frames (packet_io.hpp does the
// I/O). The pair's Linux twin of tunnel/darwin/feth_pair.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tunnel/feth_naming.hpp"

namespace feth::backends::veth {

// A veth pair this process may own: deletes it on destruction when it made
// it, leaves it as found otherwise. Knows nothing about frames.
class VethPair {
public:
    VethPair(naming::PairNames names, bool created) : names_(std::move(names)), created_(created) {}
    VethPair(VethPair&& other) noexcept : names_(std::move(other.names_)), created_(std::exchange(other.created_, false))
    {
    }
    VethPair& operator=(VethPair&&) = delete;
    VethPair(const VethPair&) = delete;
    ~VethPair();

    const naming::PairNames& names() const { return names_; }
    bool created() const { return created_; }

private:
    naming::PairNames names_;
    bool created_;
};

// Creates the pair `names` (stable MACs from the machine's identity, `mtu`
// 0 for the default), brings both ends up, the I/O end without IPv6 and
// the visible end with offloads off. Throws SystemError (EEXIST: a name is
// taken); what it made is removed again if a later step fails.
VethPair create_pair(const naming::PairNames& names, unsigned mtu);

// True when both names exist and are the two ends of one veth pair.
bool is_existing_pair(const naming::PairNames& names);

// A pair found as the admin left it gets the requested MTU on both ends (a
// veth end drops frames larger than its MTU on either side); see
// mtu::to_set. The change outlives the tunnel, like the pair itself.
void adjust_existing_mtu(const naming::PairNames& names, unsigned requested);

// The names of the interfaces of this network namespace.
std::vector<std::string> interface_names();

// True when both ends carry the MAC addresses create_pair gives this host's
// pair of that unit (naming::stable_mac): our mark, which outlives the
// process that made the pair. A pair an administrator made has the
// kernel's random addresses.
bool is_ours(const naming::PairNames& names);

// Deletes the pair (deleting one veth end deletes both). Throws SystemError.
void remove_pair(const naming::PairNames& names);

} // namespace feth::backends::veth
