// privileges.cc -- setgroups/setgid/setuid to the configured user, in that order.
#include "dns/app/privileges.hh"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rrdns::app {

std::string dropPrivileges(const std::string& user, const std::vector<std::string>& owned_paths) {
  errno = 0;
  const passwd* entry = ::getpwnam(user.c_str());
  if (entry == nullptr)
    return "user '" + user + "': " + (errno != 0 ? std::strerror(errno) : "no such user");
  const uid_t uid = entry->pw_uid;
  const gid_t gid = entry->pw_gid;
  if (::geteuid() == uid && ::getuid() == uid) return {};
  if (::geteuid() != 0)
    return "cannot switch to user '" + user + "': only root can, and this is uid " +
           std::to_string(::geteuid());
  for (const std::string& path : owned_paths)
    if (::chown(path.c_str(), uid, gid) != 0)
      return "cannot hand " + path + " to user '" + user + "': " + std::strerror(errno);
  // Groups first: once the uid is gone, the right to change them is gone too.
  if (::initgroups(entry->pw_name, gid) != 0)
    return "initgroups(" + user + "): " + std::strerror(errno);
  if (::setgid(gid) != 0) return "setgid(" + std::to_string(gid) + "): " + std::strerror(errno);
  if (::setuid(uid) != 0) return "setuid(" + std::to_string(uid) + "): " + std::strerror(errno);
  if (uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0))
    return "still able to regain root after switching to user '" + user + "'";
  return {};
}

std::string makeParentDirectory(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return {};
  std::string parent = path.substr(0, slash);
  return ::mkdir(parent.c_str(), 0755) == 0 ? parent : std::string();
}

}  // namespace rrdns::app
