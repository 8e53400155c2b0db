using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// <c>systemd-resolved</c> (hosts-and-tun.md §7.1): <c>resolvectl dns &lt;tun&gt; &lt;ips…&gt;</c>,
/// <c>resolvectl domain &lt;tun&gt; ~.</c> and <c>resolvectl llmnr &lt;tun&gt; false</c>; a non-zero exit is an error.
/// Deactivating does nothing (the link's settings vanish with the TUN). The system resolvers are every token of
/// <c>resolvectl dns</c> that parses as an IP address (scoped <c>fe80::…%if</c> ones skipped).
/// </summary>
internal sealed class SystemdResolvedDnsControl : DnsControl
{
    private readonly string _resolvectl;
    private readonly string _interface;
    private readonly ILogger _logger;

    public SystemdResolvedDnsControl(DnsControlOptions options, ILogger logger)
    {
        _resolvectl = HostCommand.Find(options.ResolvectlPath)
            ?? throw new DnsControlException($"`{options.ResolvectlPath}` not found: systemd-resolved DNS control needs it (use --dns-control etc-resolv-conf or disabled)");
        _interface = options.InterfaceName;
        _logger = logger;
    }

    public override DnsControlMethod Method => DnsControlMethod.SystemdResolved;

    public override void Deactivate()
    {
    }

    public override void SetDns(IReadOnlyList<IPAddress> servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        Run(["dns", _interface, .. servers.Select(s => s.ToString())]);
        Run(["domain", _interface, "~."]);
        Run(["llmnr", _interface, "false"]);
    }

    public override IReadOnlyList<IPAddress> GetSystemResolvers()
    {
        string output = Run(["dns"]);
        var servers = new List<IPAddress>();
        foreach (string token in output.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (!token.Contains('%', StringComparison.Ordinal) && TryParseStrict(token, out var address))
            {
                servers.Add(address);
            }
        }

        return servers;
    }

    public override void FlushCache()
    {
        try
        {
            Run(["flush-caches"]);
        }
        catch (DnsControlException e)
        {
            HostingLog.FlushCachesFailed(_logger, e.Message);
        }
    }

    private string Run(IReadOnlyList<string> arguments)
    {
        var (code, output, error) = HostCommand.Run(_resolvectl, arguments);
        return code == 0
            ? output
            : throw new DnsControlException($"`resolvectl {string.Join(' ', arguments)}` failed with exit code {code}: {error.Trim()}");
    }
}

/// <summary>Runs the few system programs the hosts need (resolvectl, nft) and finds them on <c>PATH</c>.</summary>
internal static class HostCommand
{
    public static string? Find(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(program) ? program : null;
        }

        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").Split(':'))
        {
            string candidate = Path.Combine(directory, program);
            if (directory.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Runs <paramref name="program"/> to its end (30 s at most) with <paramref name="input"/> on stdin.</summary>
    public static (int ExitCode, string Output, string Error) Run(string program, IReadOnlyList<string> arguments, string? input = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(info)!;
            if (input is not null)
            {
                process.StandardInput.Write(input);
                process.StandardInput.Close();
            }

            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill();
                return (-1, output.Result, "timed out after 30 s");
            }

            return (process.ExitCode, output.Result, error.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, string.Empty, e.Message);
        }
    }
}
