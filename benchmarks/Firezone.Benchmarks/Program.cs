using BenchmarkDotNet.Running;

namespace Firezone.Benchmarks;

/// <summary>Entry point: BenchmarkDotNet's switcher over every benchmark class in this assembly.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks selected on the command line (e.g. <c>--filter *Stun*</c>).</summary>
    public static int Main(string[] args)
    {
        // Harness verbs (real devices, sockets) run before BenchmarkDotNet's switcher.
        if (args.Length > 0 && args[0] == "tun-throughput" && OperatingSystem.IsLinux()) return TunThroughput.Run(args);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
