using System.Net.Sockets;
using Firezone.Snownet;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Messages;

/// <summary>
/// The portal's relay list as a node uses it (tunnel spec §3, upstream <c>utils::turn</c>): only <c>turn</c> entries;
/// <em>consecutive</em> entries with one id merge into one dual-stack relay (the first address of each family is kept,
/// a further one of a family already present is logged as a warning and dropped); the last entry's username and
/// password win; realm <c>firezone</c>.
/// </summary>
public static partial class TurnRelays
{
    /// <summary>The realm of Firezone relays.</summary>
    public const string Realm = "firezone";

    /// <summary>Converts <paramref name="entries"/> (in the portal's order) to relays, in order of first appearance.</summary>
    /// <param name="entries">The portal's entries (STUN entries are skipped).</param>
    /// <param name="logger">Receives the duplicate-address warnings.</param>
    public static IReadOnlyList<TurnRelay> FromPortal(IEnumerable<RelayEntry> entries, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var result = new List<TurnRelay>();
        TurnRelayEntry? group = null;
        System.Net.IPEndPoint? v4 = null, v6 = null;
        foreach (var entry in entries)
        {
            if (entry is not TurnRelayEntry turn)
            {
                continue;
            }

            if (group is not null && group.Id != turn.Id)
            {
                result.Add(new TurnRelay(group.Id, v4, v6, group.Username, group.Password, Realm));
                v4 = v6 = null;
            }

            if (turn.Address.AddressFamily == AddressFamily.InterNetwork)
            {
                if (v4 is null)
                {
                    v4 = turn.Address;
                }
                else if (logger is not null)
                {
                    LogDuplicate(logger, turn.Id, "IPv4");
                }
            }
            else if (v6 is null)
            {
                v6 = turn.Address;
            }
            else if (logger is not null)
            {
                LogDuplicate(logger, turn.Id, "IPv6");
            }

            group = turn;
        }

        if (group is not null)
        {
            result.Add(new TurnRelay(group.Id, v4, v6, group.Username, group.Password, Realm));
        }

        return result;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Duplicate {Family} address for relay {RelayId}; keeping the first")]
    private static partial void LogDuplicate(ILogger logger, RelayId relayId, string family);
}
