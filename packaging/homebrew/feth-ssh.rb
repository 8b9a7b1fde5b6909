# Homebrew formula (draft) for feth-ssh and feth-sshd.
#
# Not in homebrew-core: use it from a tap, e.g.
#   brew tap-new $USER/feth && cp feth-ssh.rb "$(brew --repo $USER/feth)/Formula/"
#   brew install --build-from-source $USER/feth/feth-ssh
# Before publishing: set `url` and `sha256` to a release tarball of this
# repository (`head` builds the default branch meanwhile).
#
# libssh is not taken from Homebrew: the project builds its own static,
# patched libssh 0.12.2 (tun@openssh.com channel, docs/libssh-patch.md). The
# upstream tarball is a resource, verified by Homebrew, and handed to CMake
# with FETH_LIBSSH_TARBALL so that the build never downloads anything.
class FethSsh < Formula
  desc "SSH layer-2/layer-3 tunnels (ssh -w) with feth pairs on macOS"
  homepage "https://github.com/feth-ssh/feth-ssh"
  url "https://github.com/feth-ssh/feth-ssh/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000" # TODO: release tarball
  license "MIT"
  head "https://github.com/feth-ssh/feth-ssh.git", branch: "main"

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

    args = %W[
      -DFETH_BUILD_TESTS=ON
      -DFETH_SANITIZE=OFF
      -DFETH_FUZZ=OFF
      -DFETH_LIBSSH_TARBALL=#{libssh_tarball}
      -DOPENSSL_ROOT_DIR=#{Formula["openssl@3"].opt_prefix}
    ]
    system "cmake", "-S", ".", "-B", "build", *args, *std_cmake_args
    system "cmake", "--build", "build"
    # Unit tests only: the end-to-end tests need root and network namespaces.
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
  service do
    run [opt_sbin/"feth-sshd", "-D", "-e", "--state-dir", var/"db/feth-sshd"]
    require_root true
    keep_alive successful_exit: false
    log_path var/"log/feth-sshd.log"
    error_log_path var/"log/feth-sshd.log"
  end

  def caveats
    <<~EOS
      feth-ssh and feth-sshd create network interfaces and must run as root.
      The server reads /etc/feth-sshd/feth-sshd_config if it exists.
      Start it at boot:
        sudo brew services start feth-ssh
      or use the launchd job in #{opt_pkgshare}/org.feth-ssh.feth-sshd.plist.
      Example interface hooks: #{HOMEBREW_PREFIX}/share/doc/feth-ssh/hooks
    EOS
  end

  test do
    assert_match "feth-ssh #{version}", shell_output("#{bin}/feth-ssh --version")
    assert_match "feth-sshd", shell_output("#{sbin}/feth-sshd --help")
    (testpath/"cfg").write "PermitTunnel ethernet\nPort 2222\n"
    system sbin/"feth-sshd", "-t", "-f", testpath/"cfg"
    assert_match "Bad configuration option",
                 shell_output("#{bin}/feth-ssh -F /dev/null -o NoSuchOption=1 localhost 2>&1", 255)
  end
end
