using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Firezone.Tun.Tests.Linux;

/// <summary>
/// A throw-away network namespace (<c>fztun-xxxxxxxx</c>) with a dedicated thread that entered it with setns(2):
/// everything run through <see cref="Run{T}"/> creates its devices and sockets inside the namespace. Created with
/// <c>ip netns add</c> (test setup only; the code under test never runs <c>ip</c>), always deleted on dispose.
/// </summary>
internal sealed partial class NetNamespace : IDisposable
{
    private const int CLONE_NEWNET = 0x40000000;
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;
    private bool _disposed;

    public string Name { get; }

    private NetNamespace(string name)
    {
        Name = name;
        var entered = new TaskCompletionSource();
        _thread = new Thread(() =>
        {
            try
            {
                using var ns = File.OpenHandle($"/run/netns/{name}");
                if (SetNs((int)ns.DangerousGetHandle(), CLONE_NEWNET) != 0)
                    throw new InvalidOperationException($"setns failed: errno {Marshal.GetLastPInvokeError()}");
                entered.SetResult();
            }
            catch (Exception e)
            {
                entered.SetException(e);
                return;
            }
            foreach (var item in _work.GetConsumingEnumerable()) item();
        }) { IsBackground = true, Name = $"netns {name}" };
        _thread.Start();
        entered.Task.GetAwaiter().GetResult();
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    /// <summary>Why namespace tests cannot run here, or null if they can.</summary>
    public static string? MissingPrerequisite()
    {
        if (!OperatingSystem.IsLinux()) return "needs Linux";
        if (!Environment.IsPrivilegedProcess) return "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces and TUN devices";
        if (!File.Exists("/dev/net/tun")) return "needs /dev/net/tun";
        if (!ToolExists("ip")) return "needs the ip tool (iproute2) to create test namespaces";
        return null;
    }

    public static void SkipUnlessAvailable()
    {
        string? missing = MissingPrerequisite();
        Assert.SkipWhen(missing is not null, missing ?? "");
    }

    private static bool ToolExists(string tool)
        => (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    public static NetNamespace Create()
    {
        string name = "fztun-" + Convert.ToHexString(Guid.NewGuid().ToByteArray(), 0, 4).ToLowerInvariant();
        Ip($"netns add {name}");
        try
        {
            Ip($"-n {name} link set lo up");
            return new NetNamespace(name);
        }
        catch
        {
            Ip($"netns del {name}", check: false);
            throw;
        }
    }

    /// <summary>Runs <c>ip</c> (test setup/inspection only).</summary>
    public static string Ip(string args, bool check = true)
    {
        var psi = new ProcessStartInfo("ip", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(10_000)) { p.Kill(); throw new TimeoutException($"ip {args}"); }
        if (check && p.ExitCode != 0) throw new InvalidOperationException($"ip {args} failed: {error}");
        return output;
    }

    /// <summary>Runs <c>ip -n NAME ...</c>.</summary>
    public string IpIn(string args, bool check = true) => Ip($"-n {Name} {args}", check);

    public T Run<T>(Func<T> func)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try { tcs.SetResult(func()); }
            catch (Exception e) { tcs.SetException(e); }
        });
        return tcs.Task.GetAwaiter().GetResult();
    }

    public void Run(Action action) => Run(() => { action(); return 0; });

    /// <summary>Starts <paramref name="func"/> inside the namespace without waiting (it may block the namespace thread).</summary>
    public Task<T> Start<T>(Func<T> func)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try { tcs.SetResult(func()); }
            catch (Exception e) { tcs.SetException(e); }
        });
        return tcs.Task;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _work.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(10));
        Ip($"netns del {Name}", check: false);
    }
}
