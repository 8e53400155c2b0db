using BenchmarkDotNet.Running;
using Firezone.Benchmarks.RelayLoad;

namespace Firezone.Benchmarks;

/// <summary>Entry point: harness verbs first (<c>relay-load</c>, <c>relay-memory</c>, <c>tun-throughput</c>, <c>wireguard-paired</c>, <c>node-paired</c>, <c>node-setup</c>, <c>gateway-inbound</c>, <c>tcp-simulated</c>, <c>tunnel-sockets</c>, <c>tunnel-vs-wireguard-go</c>), otherwise BenchmarkDotNet's switcher over every benchmark class.</summary>
public static class Program
{
    /// <summary>Runs a harness verb or the benchmarks selected on the command line (e.g. <c>--filter *Stun*</c>).</summary>
    public static int Main(string[] args)
    {
        // Harness verbs (real sockets and devices) run before BenchmarkDotNet's switcher.
        if (args.Length > 0 && args[0] == "relay-load")
        {
            return RelayLoadCommand.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "tunnel-vs-wireguard-go")
        {
            return EndToEnd.TunnelVsWireGuardGo.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "relay-memory")
        {
            return RelayMemoryCommand.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "tun-throughput" && OperatingSystem.IsLinux())
        {
            return TunThroughput.Run(args);
        }
        if (args.Length > 0 && args[0] == "node-paired")
        {
            return Node.NodePairedThroughput.Run();
        }
        if (args.Length > 0 && args[0] == "node-setup")
        {
            return Node.NodeSetupCommand.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "tcp-simulated")
        {
            return Tcp.TcpSimulatedThroughput.Run(args);
        }
        if (args.Length > 0 && args[0] == "tunnel-paired")
        {
            return States.TunnelPairedThroughput.Run();
        }
        if (args.Length > 0 && args[0] == "gateway-inbound")
        {
            return Gateway.GatewayInboundThroughput.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "tunnel-sockets" && OperatingSystem.IsLinux())
        {
            return Sessions.TunnelSocketThroughput.Run();
        }
        if (args.Length > 0 && args[0] == "checksum-rate")
        {
            return ChecksumRate.Run();
        }
        if (args.Length > 0 && args[0] == "seal-compare")
        {
            return WireGuard.SealComparison.Run(args);
        }
        if (args.Length > 0 && args[0] == "wireguard-paired")
        {
            WireGuard.WireGuardPairedThroughput.Run();
            return 0;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
