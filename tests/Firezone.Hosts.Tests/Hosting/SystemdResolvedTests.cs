using System.Net;
using Firezone.Connlib.Hosting;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary><c>systemd-resolved</c> DNS control (hosts-and-tun.md §7.1) against a stand-in resolvectl script that records its calls.</summary>
public sealed class SystemdResolvedTests
{
    private static string FakeResolvectl(TempDirectory dir, string dnsOutput, int exitCode = 0)
    {
        string script = dir.File("resolvectl");
        File.WriteAllText(script, $$"""
            #!/bin/sh
            echo "$*" >> "{{dir.File("calls")}}"
            if [ "$*" = "dns" ]; then cat <<'OUT'
            {{dnsOutput}}
            OUT
            fi
            exit {{exitCode}}

            """);
        File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        return script;
    }

    [Fact]
    public void SetDns_runs_upstreams_three_resolvectl_commands_in_order()
    {
        Assert.SkipWhen(TempDirectory.FindTool("sh") is null, "needs /bin/sh for the stand-in resolvectl");
        using var dir = new TempDirectory();
        var control = DnsControl.Create(DnsControlMethod.SystemdResolved, new DnsControlOptions { ResolvectlPath = FakeResolvectl(dir, "") });
        control.SetDns([IPAddress.Parse("100.100.111.1"), IPAddress.Parse("fd00:2021:1111:8000:100:100:111:0")]);
        control.FlushCache();
        control.Deactivate(); // nothing: the link's settings vanish with the TUN
        Assert.Equal(
            ["dns tun-firezone 100.100.111.1 fd00:2021:1111:8000:100:100:111:0", "domain tun-firezone ~.", "llmnr tun-firezone false", "flush-caches"],
            File.ReadAllLines(dir.File("calls")));
    }

    [Fact]
    public void System_resolvers_are_every_ip_token_of_resolvectl_dns_except_scoped_ones()
    {
        Assert.SkipWhen(TempDirectory.FindTool("sh") is null, "needs /bin/sh for the stand-in resolvectl");
        using var dir = new TempDirectory();
        const string output = "Global:\nLink 2 (eth0): 198.18.0.53 2001:2::53 fe80::1%eth0\nLink 7 (tun-firezone): 100.100.111.1";
        var control = DnsControl.Create(DnsControlMethod.SystemdResolved, new DnsControlOptions { ResolvectlPath = FakeResolvectl(dir, output) });
        Assert.Equal([IPAddress.Parse("198.18.0.53"), IPAddress.Parse("2001:2::53"), IPAddress.Parse("100.100.111.1")], control.GetSystemResolvers());
    }

    [Fact]
    public void A_failing_resolvectl_is_an_error()
    {
        Assert.SkipWhen(TempDirectory.FindTool("sh") is null, "needs /bin/sh for the stand-in resolvectl");
        using var dir = new TempDirectory();
        var control = DnsControl.Create(DnsControlMethod.SystemdResolved, new DnsControlOptions { ResolvectlPath = FakeResolvectl(dir, "", exitCode: 1) });
        Assert.Contains("exit code 1", Assert.Throws<DnsControlException>(() => control.SetDns([IPAddress.Parse("100.100.111.1")])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_resolvectl_systemd_resolved_cannot_be_chosen()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<DnsControlException>(() => DnsControl.Create(DnsControlMethod.SystemdResolved, new DnsControlOptions { ResolvectlPath = dir.File("resolvectl") }));
        Assert.Contains("not found", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Disabled_changes_nothing_and_reads_resolv_conf()
    {
        using var dir = new TempDirectory();
        string path = dir.File("resolv.conf");
        File.WriteAllText(path, "nameserver 198.18.0.53\n");
        var control = DnsControl.Create(DnsControlMethod.Disabled, new DnsControlOptions { ResolvConfPath = path });
        control.SetDns([IPAddress.Parse("100.100.111.1")]);
        control.Deactivate();
        Assert.Equal("nameserver 198.18.0.53\n", File.ReadAllText(path));
        Assert.Equal([IPAddress.Parse("198.18.0.53")], control.GetSystemResolvers());
    }

    [Theory]
    [InlineData("disabled", DnsControlMethod.Disabled)]
    [InlineData("etc-resolv-conf", DnsControlMethod.EtcResolvConf)]
    [InlineData("systemd-resolved", DnsControlMethod.SystemdResolved)]
    public void Method_names_round_trip(string name, DnsControlMethod method)
    {
        Assert.True(DnsControlMethodNames.TryParse(name, out var parsed));
        Assert.Equal(method, parsed);
        Assert.Equal(name, DnsControlMethodNames.ToName(method));
        Assert.False(DnsControlMethodNames.TryParse(name.ToUpperInvariant(), out _));
    }
}
