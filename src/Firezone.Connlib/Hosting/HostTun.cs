using System.Net;
using System.Runtime.Versioning;
using Firezone.Tun;
using Firezone.Tun.Linux;
using Firezone.Tun.Netlink;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// A host's TUN device and its configuration (hosts-and-tun.md §2.2–§2.3): the device is created on first
/// <see cref="Open"/>, addresses (with MTU and link up) and routes are applied through it. <see cref="LinuxHostTun"/> is
/// the real one; tests substitute their own.
/// </summary>
public interface IHostTun : IDisposable
{
    /// <summary>Creates the device on the first call; later calls return the same device.</summary>
    ITun Open();

    /// <summary>Makes the interface carry exactly these addresses (null: none of that family).</summary>
    void SetAddresses(IPAddress? ipv4, IPAddress? ipv6);

    /// <summary>Makes Firezone's routing table hold exactly <paramref name="routes"/> via the interface.</summary>
    void SetRoutes(IReadOnlyCollection<IPNetwork> routes);
}

/// <summary>
/// The Linux TUN (<see cref="LinuxTun"/>, <c>tun-firezone</c>, MTU 1280) configured over netlink by a
/// <see cref="TunDeviceManager"/>. Create it on the thread whose network namespace the device belongs in.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LinuxHostTun : IHostTun
{
    private readonly string _name;
    private readonly int _mtu;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly object _gate = new();
    private LinuxTun? _tun;
    private TunDeviceManager? _manager;

    /// <summary>Remembers the interface to create (nothing is created yet).</summary>
    public LinuxHostTun(string name = LinuxTun.DefaultName, int mtu = LinuxTun.DefaultMtu, ILoggerFactory? loggerFactory = null)
    {
        _name = name;
        _mtu = mtu;
        _loggerFactory = loggerFactory;
    }

    /// <inheritdoc/>
    /// <exception cref="TunDeviceException">The device cannot be created (needs CAP_NET_ADMIN and /dev/net/tun).</exception>
    public ITun Open()
    {
        lock (_gate)
        {
            _tun ??= LinuxTun.CreateWithOffload(_name, _mtu); // TSO/GRO, direct reads: the tunnel's TUN thread polls the fd itself
            _manager ??= new TunDeviceManager(_name, _mtu, _loggerFactory?.CreateLogger<TunDeviceManager>());
            return _tun;
        }
    }

    /// <inheritdoc/>
    public void SetAddresses(IPAddress? ipv4, IPAddress? ipv6) => Manager().SetAddresses(ipv4, ipv6);

    /// <inheritdoc/>
    public void SetRoutes(IReadOnlyCollection<IPNetwork> routes) => Manager().SetRoutes(routes);

    private TunDeviceManager Manager()
    {
        Open();
        return _manager!;
    }

    /// <summary>Removes the policy rules and destroys the interface.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _manager?.Dispose();
            _tun?.Dispose();
        }
    }
}
