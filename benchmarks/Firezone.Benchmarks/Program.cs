using BenchmarkDotNet.Running;

namespace Firezone.Benchmarks;

/// <summary>Entry point: BenchmarkDotNet's switcher over every benchmark class in this assembly.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks selected on the command line (e.g. <c>--filter *Stun*</c>).</summary>
    public static void Main(string[] args)
    {
        if (args is ["wireguard-paired", ..]) { WireGuard.WireGuardPairedThroughput.Run(); return; }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
