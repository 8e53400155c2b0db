using Firezone.Connlib.Hosting;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>hosts-and-tun.md §7.1 token sources and §9.18: env/positional wins, else the token file, with upstream's strict permission check.</summary>
public sealed class TokenSourceTests
{
    private static string WriteToken(TempDirectory dir, string content, UnixFileMode mode)
    {
        string path = dir.File("token");
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    [Fact]
    public void An_explicit_token_wins_and_the_file_is_not_read()
    {
        using var dir = new TempDirectory();
        string path = WriteToken(dir, "from-file", UnixFileMode.UserRead | UnixFileMode.OtherRead); // would fail the check
        Assert.Equal("from-env", TokenSource.Resolve("from-env", path));
    }

    [Fact]
    public void An_empty_explicit_token_counts_as_unset_and_the_file_is_read_trimmed()
    {
        using var dir = new TempDirectory();
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "the token file must be owned by root:root; only root can create such a file");
        string path = WriteToken(dir, "  secret-token\n\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal("secret-token", TokenSource.Resolve("", path));
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead)] // 0400
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite)] // 0600
    public void Token_file_modes_0400_and_0600_are_accepted(UnixFileMode mode)
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "the token file must be owned by root:root; only root can create such a file");
        using var dir = new TempDirectory();
        Assert.Equal("t", TokenSource.Resolve(null, WriteToken(dir, "t", mode)));
    }

    /// <summary>Every bit of 0o177 (owner exec, any group or other bit) is refused — the check is on mode bits, so also as root.</summary>
    [Theory]
    [InlineData(UnixFileMode.UserExecute)]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    [InlineData(UnixFileMode.GroupExecute)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.OtherWrite)]
    [InlineData(UnixFileMode.OtherExecute)]
    public void Token_file_with_a_mode_bit_of_0o177_is_refused_with_upstreams_message(UnixFileMode extra)
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "the mode check comes after the owner check, which needs a root-owned file");
        using var dir = new TempDirectory();
        string path = WriteToken(dir, "t", UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);
        var e = Assert.Throws<TokenException>(() => TokenSource.Resolve(null, path));
        Assert.Equal($"Token file `{path}` should have mode 0o400 or 0x600", e.Message);
    }

    [Fact]
    public void A_world_readable_token_file_is_refused()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "the mode check comes after the owner check, which needs a root-owned file");
        using var dir = new TempDirectory();
        string path = WriteToken(dir, "t", (UnixFileMode)0b110_100_100); // 0644
        Assert.Contains("should have mode 0o400 or 0x600", Assert.Throws<TokenException>(() => TokenSource.Resolve(null, path)).Message);
    }

    [Fact]
    public void A_token_file_not_owned_by_root_is_refused_before_its_mode_is_checked()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown to another user needs root");
        using var dir = new TempDirectory();
        string path = WriteToken(dir, "t", (UnixFileMode)0b110_100_100);
        Assert.Equal(0, TempDirectory.Chown(path, 1000, 0));
        Assert.Equal($"Token file `{path}` should be owned by root user", Assert.Throws<TokenException>(() => TokenSource.Resolve(null, path)).Message);
        Assert.Equal(0, TempDirectory.Chown(path, 0, 1000));
        Assert.Equal($"Token file `{path}` should be owned by root group", Assert.Throws<TokenException>(() => TokenSource.Resolve(null, path)).Message);
    }

    [Fact]
    public void No_token_anywhere_gives_upstreams_message()
    {
        using var dir = new TempDirectory();
        string path = dir.File("missing");
        Assert.Equal($"Can't find the Firezone token in $FIREZONE_TOKEN or in `{path}`", Assert.Throws<TokenException>(() => TokenSource.Resolve(null, path)).Message);
    }

    [Fact]
    public void TakeFromEnvironment_removes_the_variable()
    {
        Environment.SetEnvironmentVariable(TokenSource.EnvironmentVariable, "abc");
        Assert.Equal("abc", TokenSource.TakeFromEnvironment());
        Assert.Null(Environment.GetEnvironmentVariable(TokenSource.EnvironmentVariable));
        Assert.Null(TokenSource.TakeFromEnvironment());
    }
}
