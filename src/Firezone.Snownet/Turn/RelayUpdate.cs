using System.Text;

namespace Firezone.Snownet.Turn;

/// <summary>What <c>update_relays</c> does with one relay entry it is asked to add (snownet spec §6.11 step 2).</summary>
internal enum RelayUpdateAction
{
    /// <summary>The entry is unusable (USERNAME of 513+ bytes or REALM of 128+ characters): skip it.</summary>
    Skip,

    /// <summary>Unknown relay id: create a new allocation (its Binding requests start at once).</summary>
    Create,

    /// <summary>Same relay, same credentials, same address(es): keep the allocation untouched.</summary>
    Keep,

    /// <summary>The relay rebooted, moved or was re-keyed: invalidate the old candidates and create a new allocation.</summary>
    Replace,
}

/// <summary>
/// The per-allocation rules of <c>update_relays</c> (snownet spec §6.11). The Node owns the relay map; these helpers
/// decide what happens to one entry. Relays that are kept and not mentioned in the update get
/// <see cref="Allocation.Refresh"/> as a liveness probe; removed ones are dropped without any message to the relay.
/// </summary>
internal static class RelayUpdate
{
    /// <summary>Decides what to do with an entry to add, given the allocation currently held for that relay id.</summary>
    public static RelayUpdateAction Decide(Allocation? existing, RelaySocket server, string username, string password, string realm)
    {
        if (!IsUsable(username, realm))
        {
            return RelayUpdateAction.Skip;
        }

        if (existing is null)
        {
            return RelayUpdateAction.Create;
        }

        return existing.HasSameConfiguration(server, username, password) ? RelayUpdateAction.Keep : RelayUpdateAction.Replace;
    }

    /// <summary>USERNAME shorter than 513 bytes and REALM shorter than 128 characters (what a relay accepts).</summary>
    public static bool IsUsable(string username, string realm) =>
        Encoding.UTF8.GetByteCount(username) < AllocationConstants.MaxUsernameBytes && realm.Length < AllocationConstants.MaxRealmChars;
}
