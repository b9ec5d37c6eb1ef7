// privileges.hh -- giving up root once every socket is bound (config `user`, --user).
#pragma once

#include <string>
#include <vector>

namespace rrdns::app {

// Switches the whole process (every thread: glibc applies set*id to all of them) to `user`'s
// uid, primary gid and supplementary groups, after handing `owned_paths` (the control socket)
// to that user so they can still be removed and used by its operators. Checks that root cannot
// be regained. Returns "" or why not; the caller must not serve on failure.
// Already running as `user` is a no-op; switching from another non-root user is an error.
std::string dropPrivileges(const std::string& user, const std::vector<std::string>& owned_paths);

// Creates the directory that will hold `path` (one level, mode 0755: /run/rrdns is gone after a
// reboot) so that it can be handed to `user` with the socket. Returns the directory if this call
// created it, "" if it was there already or cannot be made (creating `path` then says why).
std::string makeParentDirectory(const std::string& path);

}  // namespace rrdns::app
