# Homebrew formula for feth-ssh and feth-sshd. Not in homebrew-core, and no
# release has been tagged yet: it builds the sources at HEAD only, from a
# local tap. From a checkout of this repository (docs/install.md):
#
#   brew tap-new --no-git "$USER/feth"
#   cp packaging/homebrew/feth-ssh.rb "$(brew --repo "$USER/feth")/Formula/"
#   HOMEBREW_FETH_SSH_REPO="$PWD" brew install --HEAD "$USER/feth/feth-ssh"
#   brew test "$USER/feth/feth-ssh"
#
# HOMEBREW_FETH_SSH_REPO names the git repository to build (a local path;
# brew passes HOMEBREW_* variables through), HOMEBREW_FETH_SSH_BRANCH its
# branch (default: the one checked out there). Without it, HEAD is the
# project's public repository. When a release is tagged, add its `url` and
# `sha256` here.
#
# libssh is not taken from Homebrew: the project builds its own static,
# patched libssh 0.12.2 (tun@openssh.com channel, docs/libssh-patch.md). The
# upstream tarball is a resource, verified by Homebrew, and handed to CMake
# with FETH_LIBSSH_TARBALL so that the build never downloads anything.
class FethSsh < Formula
  desc "SSH layer-2/layer-3 tunnels (ssh -w) with feth pairs on macOS"
  homepage "https://github.com/feth-ssh/feth-ssh"
  license "MIT"

  local_repo = ENV.fetch("HOMEBREW_FETH_SSH_REPO", "")
  if local_repo.empty?
    head "https://github.com/feth-ssh/feth-ssh.git", branch: "main"
  else
    local_branch = ENV.fetch("HOMEBREW_FETH_SSH_BRANCH") do
      Utils.safe_popen_read("git", "-C", local_repo, "rev-parse", "--abbrev-ref", "HEAD").strip
    end
    head "file://#{File.expand_path(local_repo)}", using: :git, branch: local_branch
  end

  depends_on "catch2" => :build
  depends_on "cli11" => :build
  depends_on "cmake" => :build
  depends_on "openssl@3"

  resource "libssh" do
    url "https://www.libssh.org/files/0.12/libssh-0.12.2.tar.xz"
    sha256 "49560f677d96e3706a904ac2de1116e25f3680937d51e5c92198fcba4a1c1e9f"
  end

  def install
    libssh_tarball = buildpath/"libssh-0.12.2.tar.xz"
    cp resource("libssh").cached_download, libssh_tarball

    # Warnings are not errors here (FETH_WERROR is off by default): a newer
    # Xcode may warn where the project's CI compilers do not.
    args = %W[
      -DFETH_BUILD_TESTS=ON
      -DFETH_SANITIZE=OFF
      -DFETH_FUZZ=OFF
      -DFETH_LIBSSH_TARBALL=#{libssh_tarball}
      -DOPENSSL_ROOT_DIR=#{Formula["openssl@3"].opt_prefix}
    ]
    system "cmake", "-S", ".", "-B", "build", *args, *std_cmake_args
    system "cmake", "--build", "build"
    # Unit tests only (Homebrew's Catch2 is v3): the end-to-end tests need
    # Linux, root and network namespaces.
    system "ctest", "--test-dir", "build", "-R", "^unit$", "--output-on-failure"

    # CMake's install rules: feth-ssh (bin), feth-sshd (sbin), the man
    # pages, hooks.md and the example hooks (doc, doc/hooks) and the
    # launchd job (pkgshare). The two guides are not among them.
    system "cmake", "--install", "build"
    doc.install "docs/install.md", "docs/macos.md"
  end

  # `sudo brew services start feth-ssh` runs feth-sshd as a root launchd
  # daemon (it creates feth pairs); the same job as
  # packaging/macos/org.feth-ssh.feth-sshd.plist, with Homebrew's prefix.
  # Port 2222: with Remote Login on, Apple's sshd holds port 22 and a job
  # on 22 would fail to bind and be restarted every 10 s. -p wins over the
  # configuration file's Port (docs/macos.md).
  service do
    run [opt_sbin/"feth-sshd", "-D", "-e", "-p", "2222", "--state-dir", var/"db/feth-sshd"]
    require_root true
    keep_alive successful_exit: false
    log_path var/"log/feth-sshd.log"
    error_log_path var/"log/feth-sshd.log"
  end

  def caveats
    <<~EOS
      feth-ssh and feth-sshd create network interfaces and must run as root.
      The server reads /etc/feth-sshd/feth-sshd_config if it exists.
      Start it at boot, on port 2222 (Remote Login may hold port 22):
        sudo brew services start feth-ssh
      or use the launchd job in #{opt_pkgshare}/org.feth-ssh.feth-sshd.plist.
      With the application firewall on, allow it (again after each upgrade):
        sudo /usr/libexec/ApplicationFirewall/socketfilterfw --add #{opt_sbin}/feth-sshd
        sudo /usr/libexec/ApplicationFirewall/socketfilterfw --unblockapp #{opt_sbin}/feth-sshd
      Example interface hooks: #{HOMEBREW_PREFIX}/share/doc/feth-ssh/hooks
    EOS
  end

  test do
    # A HEAD build's `version` is HEAD-<sha>; the binary prints the
    # project's own version, so match its shape.
    assert_match(/^feth-ssh \d+\.\d+\.\d+ \(libssh 0\.12\.2/, shell_output("#{bin}/feth-ssh --version"))
    assert_match "feth-sshd", shell_output("#{sbin}/feth-sshd --help")
    (testpath/"cfg").write "PermitTunnel ethernet\nPort 2222\n"
    system sbin/"feth-sshd", "-t", "-f", testpath/"cfg"
    assert_match "Bad configuration option",
                 shell_output("#{bin}/feth-ssh -F /dev/null -o NoSuchOption=1 localhost 2>&1", 255)
  end
end
