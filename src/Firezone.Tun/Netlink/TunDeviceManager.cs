using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Firezone.Tun.Io;
using Firezone.Tun.Linux;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Tun.Netlink;

/// <summary>
/// Configures a TUN interface over rtnetlink messages built here (no <c>ip</c> commands): addresses, MTU, link state,
/// IPv4/IPv6 routes in Firezone's table <c>0x2021fd00</c> and the policy rule
/// <c>not fwmark 0xfd002021 lookup 0x2021fd00</c> (spec hosts-and-tun §2.3). Works in the network namespace of the
/// thread that constructs it.
/// </summary>
/// <remarks>
/// Every call reads the kernel's state and changes only the difference, so repeating a call changes nothing. This
/// fixes two upstream quirks on purpose: (1) upstream adds the policy rule on every <c>set_ips</c> and the kernel does
/// not treat the priority-less adds as duplicates, so rules pile up; here a rule is added only if no identical rule
/// exists, duplicates are removed, and <see cref="Dispose"/> removes the rules (upstream never does). (2) upstream
/// deletes all addresses before adding the new ones, which makes the kernel flush every IPv4 route of the interface;
/// here the new address is added before the old one is removed, so IPv4 routes survive an address change.
/// IPv6 link-local addresses the kernel assigns are left alone. IPv6 addresses are added without duplicate address
/// detection (IFA_F_NODAD) so they are usable at once.
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed partial class TunDeviceManager : IDisposable
{
    /// <summary>Mark carried by Firezone's own sockets (SO_MARK); unmarked traffic consults Firezone's table.</summary>
    public const uint FirezoneFwmark = 0xfd002021;
    /// <summary>Firezone's policy routing table.</summary>
    public const uint FirezoneRouteTable = 0x2021fd00;

    private const byte IFA_F_NODAD = 0x02;
    private const byte RTN_LOCAL = 2;
    private readonly NetlinkSocket _socket;
    private readonly NetlinkMessageWriter _writer = new();
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private bool _disposed;

    /// <summary>Opens an rtnetlink socket in the calling thread's network namespace for interface <paramref name="interfaceName"/>.</summary>
    public TunDeviceManager(string interfaceName = LinuxTun.DefaultName, int mtu = LinuxTun.DefaultMtu, ILogger<TunDeviceManager>? logger = null)
    {
        InterfaceName = interfaceName;
        Mtu = mtu;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _socket = new NetlinkSocket();
    }

    /// <summary>The managed interface.</summary>
    public string InterfaceName { get; }

    /// <summary>MTU applied by <see cref="SetAddresses"/>.</summary>
    public int Mtu { get; }

    /// <summary>
    /// Makes the interface carry exactly <paramref name="ipv4"/>/32 and <paramref name="ipv6"/>/128 (null: none of that
    /// family), with the configured MTU, link up, and one policy rule per family that has an address.
    /// </summary>
    /// <exception cref="TunDeviceException">The interface does not exist or no wanted address could be added.</exception>
    public TunConfigChange SetAddresses(IPAddress? ipv4, IPAddress? ipv6)
    {
        if (ipv4 is not null && ipv4.AddressFamily != AddressFamily.InterNetwork) throw new ArgumentException("Not an IPv4 address.", nameof(ipv4));
        if (ipv6 is not null && ipv6.AddressFamily != AddressFamily.InterNetworkV6) throw new ArgumentException("Not an IPv6 address.", nameof(ipv6));
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var (index, mtu, flags) = GetLink();
            bool mtuChanged = false, broughtUp = false;
            if (mtu != Mtu || (flags & RtNetlink.IFF_UP) == 0)
            {
                SetLink(index, Mtu, up: true);
                mtuChanged = mtu != Mtu;
                broughtUp = (flags & RtNetlink.IFF_UP) == 0;
            }

            var wanted = new List<InterfaceAddress>();
            if (ipv4 is not null) wanted.Add(new InterfaceAddress(ipv4, 32));
            if (ipv6 is not null) wanted.Add(new InterfaceAddress(ipv6, 128));
            var current = DumpAddresses(index).Where(a => !a.Address.IsIPv6LinkLocal).ToList();

            int added = 0, removed = 0;
            TunDeviceException? lastError = null;
            var present = new HashSet<AddressFamily>(current.Where(wanted.Contains).Select(a => a.Address.AddressFamily));
            // Add first, then remove: an interface never loses its last IPv4 address, so the kernel keeps its IPv4 routes.
            foreach (var a in wanted.Where(a => !current.Contains(a)))
            {
                int errno = ChangeAddress(RtNetlink.RTM_NEWADDR, index, a);
                if (errno is 0 or LibC.EEXIST)
                {
                    added += errno == 0 ? 1 : 0;
                    present.Add(a.Address.AddressFamily);
                }
                else
                {
                    lastError = TunDeviceException.FromErrno($"Adding address {a} to '{InterfaceName}'", errno);
                    LogAddressFailed(a.ToString(), lastError.Message);
                }
            }
            foreach (var a in current.Where(a => !wanted.Contains(a)))
            {
                int errno = ChangeAddress(RtNetlink.RTM_DELADDR, index, a);
                if (errno == 0) removed++;
                else if (errno != LibC.EADDRNOTAVAIL) LogAddressFailed(a.ToString(), LibC.ErrorText(errno));
            }
            if (wanted.Count > 0 && present.Count == 0 && lastError is not null) throw lastError;
            if (added > 0) WaitUntilLocal(wanted);

            int rulesAdded = 0, rulesRemoved = 0;
            foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
            {
                var (a, r) = ReconcileRule(family, present.Contains(family));
                rulesAdded += a;
                rulesRemoved += r;
            }
            var change = new TunConfigChange(added, removed, 0, 0, rulesAdded, rulesRemoved, mtuChanged, broughtUp);
            if (!change.IsEmpty) LogChanged("addresses", change.ToString());
            return change;
        }
    }

    /// <summary>
    /// Makes Firezone's table hold exactly <paramref name="routes"/> via this interface: removes the routes no longer
    /// wanted, adds the missing ones, leaves the rest untouched. Per-route failures are logged, not thrown.
    /// </summary>
    /// <exception cref="TunDeviceException">The interface does not exist.</exception>
    public TunConfigChange SetRoutes(IEnumerable<IPNetwork> routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var wanted = routes.Select(Normalize).ToHashSet();
            LogSettingRoutes(string.Join(", ", wanted));
            var (index, _, _) = GetLink();
            var current = DumpRoutes(index).ToHashSet();
            int added = 0, removed = 0;
            foreach (var r in current.Where(r => !wanted.Contains(r)))
            {
                int errno = ChangeRoute(RtNetlink.RTM_DELROUTE, index, r);
                if (errno == 0) removed++;
                else if (errno != LibC.ESRCH && errno != LibC.ENOENT) LogRouteFailed("remove", r.ToString(), LibC.ErrorText(errno));
            }
            foreach (var r in wanted.Where(r => !current.Contains(r)))
            {
                int errno = ChangeRoute(RtNetlink.RTM_NEWROUTE, index, r);
                if (errno == 0) added++;
                else if (errno != LibC.EEXIST) LogRouteFailed("add", r.ToString(), LibC.ErrorText(errno));
            }
            var change = new TunConfigChange(0, 0, added, removed, 0, 0, false, false);
            if (!change.IsEmpty) LogChanged("routes", change.ToString());
            return change;
        }
    }

    /// <summary>Addresses currently on the interface (including kernel link-local ones).</summary>
    public IReadOnlyList<InterfaceAddress> GetAddresses()
    {
        lock (_gate) return DumpAddresses(GetLink().Index);
    }

    /// <summary>Routes via this interface in Firezone's table.</summary>
    public IReadOnlyList<IPNetwork> GetRoutes()
    {
        lock (_gate) return DumpRoutes(GetLink().Index);
    }

    /// <summary>Number of Firezone policy rules of <paramref name="family"/> in the kernel.</summary>
    public int CountPolicyRules(AddressFamily family)
    {
        lock (_gate) return DumpFirezoneRules(family).Count;
    }

    /// <summary>Current MTU and whether the link is up.</summary>
    public (int Mtu, bool IsUp) GetLinkState()
    {
        lock (_gate)
        {
            var (_, mtu, flags) = GetLink();
            return (mtu, (flags & RtNetlink.IFF_UP) != 0);
        }
    }

    /// <summary>Removes every Firezone policy rule of both families; returns how many were removed.</summary>
    public int RemovePolicyRules()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return ReconcileRule(AddressFamily.InterNetwork, false).Removed + ReconcileRule(AddressFamily.InterNetworkV6, false).Removed;
        }
    }

    /// <summary>Removes the policy rules (upstream leaves them behind) and closes the netlink socket.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            try
            {
                ReconcileRule(AddressFamily.InterNetwork, false);
                ReconcileRule(AddressFamily.InterNetworkV6, false);
            }
            catch (TunDeviceException e)
            {
                LogRuleFailed("remove", e.Message);
            }
            _disposed = true;
            _socket.Dispose();
        }
    }

    private static IPNetwork Normalize(IPNetwork n)
    {
        Span<byte> bytes = stackalloc byte[16];
        n.BaseAddress.TryWriteBytes(bytes, out int len);
        bytes = bytes[..len];
        for (int bit = n.PrefixLength; bit < len * 8; bit++) bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPNetwork(new IPAddress(bytes), n.PrefixLength);
    }

    private static byte FamilyOf(AddressFamily f) => (byte)(f == AddressFamily.InterNetwork ? LibC.AF_INET : LibC.AF_INET6);

    private (int Index, int Mtu, uint Flags) GetLink()
    {
        _writer.Begin(RtNetlink.RTM_GETLINK, RtNetlink.NLM_F_REQUEST, _socket.NextSequence());
        _writer.Fixed(RtNetlink.IfInfoMsgLength);
        _writer.AttributeString(RtNetlink.IFLA_IFNAME, InterfaceName);
        var reply = _socket.Query(_writer, out int errno);
        if (reply is null || reply.Type != RtNetlink.RTM_NEWLINK)
            throw new TunDeviceException($"Interface '{InterfaceName}' does not exist", errno);
        int index = reply.I32(4);
        uint flags = reply.U32(8);
        reply.TryGetU32(RtNetlink.IfInfoMsgLength, RtNetlink.IFLA_MTU, out uint mtu);
        return (index, (int)mtu, flags);
    }

    private void SetLink(int index, int mtu, bool up)
    {
        _writer.Begin(RtNetlink.RTM_SETLINK, RtNetlink.NLM_F_REQUEST | RtNetlink.NLM_F_ACK, _socket.NextSequence());
        Span<byte> ifi = _writer.Fixed(RtNetlink.IfInfoMsgLength);
        MemoryMarshal.Write(ifi[4..], in index);
        uint flags = up ? RtNetlink.IFF_UP : 0, change = RtNetlink.IFF_UP;
        MemoryMarshal.Write(ifi[8..], in flags);
        MemoryMarshal.Write(ifi[12..], in change);
        _writer.AttributeU32(RtNetlink.IFLA_MTU, (uint)mtu);
        int errno = _socket.Execute(_writer);
        if (errno != 0) throw TunDeviceException.FromErrno($"Setting MTU {mtu} and link up on '{InterfaceName}'", errno);
    }

    private List<InterfaceAddress> DumpAddresses(int index)
    {
        _writer.Begin(RtNetlink.RTM_GETADDR, RtNetlink.NLM_F_REQUEST | RtNetlink.NLM_F_DUMP, _socket.NextSequence());
        _writer.Fixed(RtNetlink.IfAddrMsgLength);
        var result = new List<InterfaceAddress>();
        foreach (var m in _socket.Dump(_writer))
        {
            if (m.Type != RtNetlink.RTM_NEWADDR || m.I32(4) != index) continue;
            byte prefix = m.U8(1);
            if (m.TryGetAttribute(RtNetlink.IfAddrMsgLength, RtNetlink.IFA_LOCAL, out var a) ||
                m.TryGetAttribute(RtNetlink.IfAddrMsgLength, RtNetlink.IFA_ADDRESS, out a))
            {
                if (a.Length is 4 or 16) result.Add(new InterfaceAddress(new IPAddress(a), prefix));
            }
        }
        return result;
    }

    private int ChangeAddress(ushort type, int index, InterfaceAddress address)
    {
        ushort flags = RtNetlink.NLM_F_REQUEST | RtNetlink.NLM_F_ACK;
        if (type == RtNetlink.RTM_NEWADDR) flags |= RtNetlink.NLM_F_CREATE | RtNetlink.NLM_F_EXCL;
        _writer.Begin(type, flags, _socket.NextSequence());
        Span<byte> ifa = _writer.Fixed(RtNetlink.IfAddrMsgLength);
        ifa[0] = FamilyOf(address.Address.AddressFamily);
        ifa[1] = (byte)address.PrefixLength;
        // IFA_F_NODAD: a /128 on a point-to-point TUN has nobody to collide with; without it the address stays
        // "tentative" for about a second and sockets cannot bind to it.
        if (address.Address.AddressFamily == AddressFamily.InterNetworkV6) ifa[2] = IFA_F_NODAD;
        MemoryMarshal.Write(ifa[4..], in index);
        Span<byte> bytes = stackalloc byte[16];
        address.Address.TryWriteBytes(bytes, out int len);
        _writer.Attribute(RtNetlink.IFA_LOCAL, bytes[..len]);
        if (len == 4) _writer.Attribute(RtNetlink.IFA_ADDRESS, bytes[..len]);
        return _socket.Execute(_writer);
    }

    /// <summary>
    /// The kernel installs the local route of a new IPv6 address from a work queue, so for a few milliseconds packets
    /// to it are dropped (Ip6InAddrErrors). Wait (at most 1 s) until every wanted address routes locally.
    /// </summary>
    private void WaitUntilLocal(List<InterfaceAddress> wanted)
    {
        long deadline = Environment.TickCount64 + 1000;
        foreach (var a in wanted)
        {
            while (!IsLocal(a.Address) && Environment.TickCount64 < deadline) Thread.Sleep(5);
        }
    }

    private bool IsLocal(IPAddress address)
    {
        _writer.Begin(RtNetlink.RTM_GETROUTE, RtNetlink.NLM_F_REQUEST, _socket.NextSequence());
        Span<byte> rtm = _writer.Fixed(RtNetlink.RtMsgLength);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int len);
        rtm[0] = FamilyOf(address.AddressFamily);
        rtm[1] = (byte)(len * 8);
        _writer.Attribute(RtNetlink.RTA_DST, bytes[..len]);
        var reply = _socket.Query(_writer, out _);
        return reply is not null && reply.Type == RtNetlink.RTM_NEWROUTE && reply.U8(7) == RTN_LOCAL;
    }

    private List<IPNetwork> DumpRoutes(int index)
    {
        var result = new List<IPNetwork>();
        foreach (int family in new[] { LibC.AF_INET, LibC.AF_INET6 })
        {
            _writer.Begin(RtNetlink.RTM_GETROUTE, RtNetlink.NLM_F_REQUEST | RtNetlink.NLM_F_DUMP, _socket.NextSequence());
            _writer.Fixed(RtNetlink.RtMsgLength)[0] = (byte)family;
            foreach (var m in _socket.Dump(_writer))
            {
                if (m.Type != RtNetlink.RTM_NEWROUTE || m.U8(0) != family || m.U8(7) != RtNetlink.RTN_UNICAST) continue;
                uint table = m.TryGetU32(RtNetlink.RtMsgLength, RtNetlink.RTA_TABLE, out uint t) ? t : m.U8(4);
                if (table != FirezoneRouteTable) continue;
                if (!m.TryGetU32(RtNetlink.RtMsgLength, RtNetlink.RTA_OIF, out uint oif) || oif != (uint)index) continue;
                int prefix = m.U8(1);
                IPAddress dst = family == LibC.AF_INET ? IPAddress.Any : IPAddress.IPv6Any;
                if (m.TryGetAttribute(RtNetlink.RtMsgLength, RtNetlink.RTA_DST, out var d) && d.Length is 4 or 16) dst = new IPAddress(d);
                result.Add(new IPNetwork(dst, prefix));
            }
        }
        return result;
    }

    private int ChangeRoute(ushort type, int index, IPNetwork route)
    {
        ushort flags = RtNetlink.NLM_F_REQUEST | RtNetlink.NLM_F_ACK;
        if (type == RtNetlink.RTM_NEWROUTE) flags |= RtNetlink.NLM_F_CREATE | RtNetlink.NLM_F_EXCL;
        _writer.Begin(type, flags, _socket.NextSequence());
        Span<byte> rtm = _writer.Fixed(RtNetlink.RtMsgLength);
        rtm[0] = FamilyOf(route.BaseAddress.AddressFamily);
        rtm[1] = (byte)route.PrefixLength;
        rtm[4] = RtNetlink.RT_TABLE_UNSPEC; // the table id is > 255: it goes in RTA_TABLE
        rtm[5] = RtNetlink.RTPROT_STATIC;
        rtm[6] = RtNetlink.RT_SCOPE_UNIVERSE;
        rtm[7] = RtNetlink.RTN_UNICAST;
        Span<byte> bytes = stackalloc byte[16];
        route.BaseAddress.TryWriteBytes(bytes, out int len);
        _writer.Attribute(RtNetlink.RTA_DST, bytes[..len]);
        _writer.AttributeU32(RtNetlink.RTA_OIF, (uint)index);
        _writer.AttributeU32(RtNetlink.RTA_TABLE, FirezoneRouteTable);
        return _socket.Execute(_writer);
    }

    /// <summary>Firezone rules of a family: (priority) of each <c>not fwmark 0xfd002021 lookup 0x2021fd00</c> rule.</summary>
    private List<uint?> DumpFirezoneRules(AddressFamily family)
    {
        byte fam = FamilyOf(family);
        _writer.Begin(RtNetlink.RTM_GETRULE, RtNetlink.NLM_F_REQUEST | RtNetlink.NLM_F_DUMP, _socket.NextSequence());
        _writer.Fixed(RtNetlink.FibRuleHdrLength)[0] = fam;
        var result = new List<uint?>();
        foreach (var m in _socket.Dump(_writer))
        {
            if (m.Type != RtNetlink.RTM_NEWRULE || m.U8(0) != fam || m.U8(7) != RtNetlink.FR_ACT_TO_TBL) continue;
            if ((m.U32(8) & RtNetlink.FIB_RULE_INVERT) == 0) continue;
            uint table = m.TryGetU32(RtNetlink.FibRuleHdrLength, RtNetlink.FRA_TABLE, out uint t) ? t : m.U8(4);
            if (table != FirezoneRouteTable) continue;
            if (!m.TryGetU32(RtNetlink.FibRuleHdrLength, RtNetlink.FRA_FWMARK, out uint mark) || mark != FirezoneFwmark) continue;
            if (m.TryGetU32(RtNetlink.FibRuleHdrLength, RtNetlink.FRA_FWMASK, out uint mask) && mask != 0xFFFFFFFF) continue;
            result.Add(m.TryGetU32(RtNetlink.FibRuleHdrLength, RtNetlink.FRA_PRIORITY, out uint prio) ? prio : null);
        }
        return result;
    }

    /// <summary>Ensures exactly one rule of <paramref name="family"/> when <paramref name="wanted"/>, else none.</summary>
    private (int Added, int Removed) ReconcileRule(AddressFamily family, bool wanted)
    {
        var existing = DumpFirezoneRules(family);
        int added = 0, removed = 0;
        int keep = wanted ? 1 : 0;
        if (existing.Count < keep)
        {
            int errno = ChangeRule(RtNetlink.RTM_NEWRULE, family, null);
            if (errno == 0) added++;
            else if (errno != LibC.EEXIST)
                LogRuleFailed("add", $"Couldn't add ip rule for {(family == AddressFamily.InterNetwork ? "ipv4" : "ipv6")}: {LibC.ErrorText(errno)}; packets won't be routed");
        }
        foreach (var priority in existing.Skip(keep))
        {
            int errno = ChangeRule(RtNetlink.RTM_DELRULE, family, priority);
            if (errno == 0) removed++;
            else if (errno != LibC.ENOENT) LogRuleFailed("remove", LibC.ErrorText(errno));
        }
        return (added, removed);
    }

    private int ChangeRule(ushort type, AddressFamily family, uint? priority)
    {
        ushort flags = RtNetlink.NLM_F_REQUEST | RtNetlink.NLM_F_ACK;
        if (type == RtNetlink.RTM_NEWRULE) flags |= RtNetlink.NLM_F_CREATE | RtNetlink.NLM_F_EXCL;
        _writer.Begin(type, flags, _socket.NextSequence());
        Span<byte> h = _writer.Fixed(RtNetlink.FibRuleHdrLength);
        h[0] = FamilyOf(family);
        h[4] = RtNetlink.RT_TABLE_UNSPEC;
        h[7] = RtNetlink.FR_ACT_TO_TBL;
        uint f = RtNetlink.FIB_RULE_INVERT;
        MemoryMarshal.Write(h[8..], in f);
        _writer.AttributeU32(RtNetlink.FRA_FWMARK, FirezoneFwmark);
        _writer.AttributeU32(RtNetlink.FRA_TABLE, FirezoneRouteTable);
        if (priority is uint p) _writer.AttributeU32(RtNetlink.FRA_PRIORITY, p);
        if (type == RtNetlink.RTM_NEWRULE) _writer.AttributeU8(RtNetlink.FRA_PROTOCOL, RtNetlink.RTPROT_KERNEL);
        return _socket.Execute(_writer);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Setting new routes: {Routes}")]
    private partial void LogSettingRoutes(string routes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "TUN {What} changed: {Change}")]
    private partial void LogChanged(string what, string change);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to change address {Address}: {Error}")]
    private partial void LogAddressFailed(string address, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to {Action} route {Route}: {Error}")]
    private partial void LogRouteFailed(string action, string route, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to {Action} policy rule: {Error}")]
    private partial void LogRuleFailed(string action, string error);
}
