using System.Net;
using System.Numerics;
using Firezone.DevPortal.Config;

namespace Firezone.DevPortal.Broker;

/// <summary>
/// Tunnel addresses of the config's clients and gateways: the fixed ones, and for the others the next free address of
/// 100.64.0.0/11 and fd00:2021:1111::/107 (from .1 / ::1 on), keeping what an identity had before a reload.
/// </summary>
internal sealed class TunnelAddressPool
{
    private readonly Dictionary<string, (IPAddress V4, IPAddress V6)> _assigned = [];

    public (IPAddress V4, IPAddress V6) this[string identity] => _assigned[identity];

    public static string ClientKey(ClientConfig c) => $"client:{c.Id}";

    public static string GatewayKey(GatewayConfig g) => $"gateway:{g.Id}";

    /// <summary>Assigns addresses for <paramref name="config"/>, keeping previous assignments that are still free.</summary>
    public void Assign(DevPortalConfig config)
    {
        var wanted = new List<(string Key, IPAddress? V4, IPAddress? V6)>();
        wanted.AddRange(config.Clients.Select(c => (ClientKey(c), c.IPv4, c.IPv6)));
        wanted.AddRange(config.Gateways.Select(g => (GatewayKey(g), g.IPv4, g.IPv6)));

        var usedV4 = new HashSet<IPAddress>(wanted.Where(w => w.V4 is not null).Select(w => w.V4!));
        var usedV6 = new HashSet<IPAddress>(wanted.Where(w => w.V6 is not null).Select(w => w.V6!));
        var previous = new Dictionary<string, (IPAddress V4, IPAddress V6)>(_assigned);
        _assigned.Clear();

        // Keep what each identity had if nobody fixed that address meanwhile.
        var kept = new Dictionary<string, (IPAddress? V4, IPAddress? V6)>();
        foreach (var (key, v4, v6) in wanted)
        {
            IPAddress? keepV4 = v4, keepV6 = v6;
            if (previous.TryGetValue(key, out var old))
            {
                if (keepV4 is null && usedV4.Add(old.V4)) keepV4 = old.V4;
                if (keepV6 is null && usedV6.Add(old.V6)) keepV6 = old.V6;
            }

            kept[key] = (keepV4, keepV6);
        }

        BigInteger nextV4 = 1, nextV6 = 1;
        foreach (var (key, _, _) in wanted)
        {
            var (v4, v6) = kept[key];
            v4 ??= Next(DevPortalConfig.TunnelIPv4Range, usedV4, ref nextV4);
            v6 ??= Next(DevPortalConfig.TunnelIPv6Range, usedV6, ref nextV6);
            _assigned[key] = (v4, v6);
        }
    }

    private static IPAddress Next(IPNetwork range, HashSet<IPAddress> used, ref BigInteger offset)
    {
        byte[] baseBytes = range.BaseAddress.GetAddressBytes();
        BigInteger size = BigInteger.One << ((baseBytes.Length * 8) - range.PrefixLength);
        var baseValue = new BigInteger(baseBytes, isUnsigned: true, isBigEndian: true);
        for (; offset < size - 1; offset++)
        {
            byte[] bytes = (baseValue + offset).ToByteArray(isUnsigned: true, isBigEndian: true);
            var padded = new byte[baseBytes.Length];
            bytes.CopyTo(padded, padded.Length - bytes.Length);
            var address = new IPAddress(padded);
            if (used.Add(address))
            {
                offset++;
                return address;
            }
        }

        throw new InvalidOperationException($"{range} has no free address left");
    }
}
