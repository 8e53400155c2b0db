using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Firezone.Connlib.Tests.Io;

/// <summary>
/// A throw-away network namespace for socket tests that need to shape loopback (tc): <see cref="Create{T}"/> runs a
/// function on a thread that entered the namespace (setns), so the sockets it creates live there. Created with
/// <c>ip netns add</c>, deleted on dispose.
/// </summary>
internal sealed partial class ScratchNamespace : IDisposable
{
    private const int CLONE_NEWNET = 0x40000000;

    private ScratchNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>Why this cannot run here, or null.</summary>
    public static string? MissingPrerequisite() =>
        !OperatingSystem.IsLinux() ? "needs Linux"
        : !Environment.IsPrivilegedProcess ? "needs root to create a network namespace"
        : !File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip") ? "needs iproute2 (ip, tc)"
        : null;

    public static ScratchNamespace Create()
    {
        var name = "fzconn-" + Convert.ToHexString(Guid.NewGuid().ToByteArray(), 0, 4).ToLowerInvariant();
        Run("ip", $"netns add {name}");
        var ns = new ScratchNamespace(name);
        ns.Exec("ip", "link set lo up");
        return ns;
    }

    /// <summary>Runs a command inside the namespace (<c>ip netns exec</c>); returns its exit code.</summary>
    public int Exec(string tool, string args, bool check = true) => Run("ip", $"netns exec {Name} {tool} {args}", check);

    /// <summary>Runs <paramref name="create"/> on a thread inside the namespace.</summary>
    public T Create<T>(Func<T> create)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/run/netns/{Name}");
                if (SetNs((int)handle.DangerousGetHandle(), CLONE_NEWNET) != 0)
                {
                    throw new InvalidOperationException($"setns failed: {Marshal.GetLastPInvokeError()}");
                }

                result = create();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        return error is null ? result : throw new InvalidOperationException("in the namespace", error);
    }

    private static int Run(string tool, string args, bool check = true)
    {
        using var p = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit(10_000);
        return check && p.ExitCode != 0 ? throw new InvalidOperationException($"{tool} {args}: {error}") : p.ExitCode;
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    public void Dispose() => Run("ip", $"netns del {Name}", check: false);
}
