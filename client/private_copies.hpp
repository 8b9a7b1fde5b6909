// Private copies of root's known_hosts files for the SSH part, made while
// it is still root and read (and appended to by libssh, accept-new) after
// its drop to nobody, when root's own files are out of its reach. Only the
// SSH part can reach them:
//  - Linux: memfds, reopened by /proc/self/fd/N (which only the process
//    itself can open: it is not dumpable after the change of uid);
//  - elsewhere (macOS, where /dev/fd/N is a dup sharing the file offset, so
//    that every reader would start where the last one stopped): files in
//    the run's directory (run_dir.hpp), owned by nobody, mode 0600.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "base/fd.hpp"

namespace feth::client {

class PrivateCopies {
public:
    enum class Store { Memfd, Directory };
    // This platform's store.
    static Store platform_store();
    // `dir`, `owner`, `group`: where the Directory store puts its files and
    // whose they are (the SSH part's user); unused by Memfd.
    PrivateCopies(Store store, std::string dir, uid_t owner, gid_t group);

    // Copies `path` if it can be read now (or, with `create`, an empty
    // copy when it does not exist). Returns whether a copy was made; throws
    // SystemError when the copy cannot be made.
    bool add(const std::string& path, bool create);
    // configured name -> the copy's path (Destination::file_copies)
    std::map<std::string, std::string> paths() const;
    // Whole lines appended to the copy of `path` since the last call.
    std::vector<std::string> take_appended(const std::string& path);

private:
    struct Copy {
        UniqueFd fd;
        std::string path;
        std::size_t seen = 0;
    };
    Copy make_copy(const std::string& of);

    Store store_;
    std::string dir_;
    uid_t owner_;
    gid_t group_;
    std::map<std::string, Copy> copies_;
};

} // namespace feth::client
