using Firezone.Connlib.Hosting;
using Firezone.Tun.Tests.Linux;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>The gateway's optional forwarding set-up (hosts-and-tun.md §7.2, §8), applied inside a network namespace created for the test.</summary>
public sealed class GatewayForwardingTests
{
    private static string ReadSysctl(string name) => File.ReadAllText("/proc/sys/" + name.Replace('.', '/')).Trim();

    [Fact]
    public void Apply_sets_the_sysctls_and_installs_the_nftables_table_in_the_namespace_only_and_dispose_removes_it()
    {
        NetNamespace.SkipUnlessAvailable();
        Assert.SkipWhen(TempDirectory.FindTool("nft") is null, "nft (nftables) is not installed");
        string hostForwarding = ReadSysctl("net.ipv4.ip_forward");
        using var ns = NetNamespace.Create();
        var (values, table) = ns.Run(() =>
        {
            var forwarding = GatewayForwarding.Apply();
            var sysctls = GatewayForwarding.Sysctls.Select(s => (s.Name, ReadSysctl(s.Name))).ToList();
            string listed = RunNft(ns.Name, "list table inet firezone-gateway");
            forwarding.Dispose();
            return (sysctls, listed);
        });
        Assert.All(values, v => Assert.Equal(GatewayForwarding.Sysctls.Single(s => s.Name == v.Name).Value, v.Item2));
        Assert.Contains("iifname \"tun-firezone\" accept", table, StringComparison.Ordinal);
        Assert.Contains("ip saddr 100.64.0.0/11 oifname != \"tun-firezone\" masquerade", table, StringComparison.Ordinal);
        Assert.Contains("ip6 saddr fd00:2021:1111::/107 oifname != \"tun-firezone\" masquerade", table, StringComparison.Ordinal);
        Assert.Contains("No such file or directory", RunNft(ns.Name, "list table inet firezone-gateway", expectFailure: true), StringComparison.Ordinal);
        Assert.Equal(hostForwarding, ReadSysctl("net.ipv4.ip_forward")); // the test's host was not touched
    }

    private static string RunNft(string ns, string command, bool expectFailure = false)
    {
        var info = new System.Diagnostics.ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in $"netns exec {ns} nft {command}".Split(' '))
        {
            info.ArgumentList.Add(a);
        }

        using var p = System.Diagnostics.Process.Start(info)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(expectFailure, p.ExitCode != 0);
        return output;
    }
}
