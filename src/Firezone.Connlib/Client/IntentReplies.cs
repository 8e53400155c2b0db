using Firezone.Connlib.Model;

namespace Firezone.Connlib.Client;

/// <summary>
/// The host's bookkeeping of <c>prepare_connection</c> requests (tunnel spec §4.5 "Host mapping"; upstream's
/// clients/shared event loop): each intent's request reference is remembered for its resource; a connection-details
/// reply is accepted only when its reference is the <em>newest</em> one sent for that resource, and accepting forgets
/// every intent of the resource. Older replies and replies to unknown references are discarded. Bounded: at most
/// <see cref="MaxPending"/> references are remembered (the oldest are forgotten first), so a portal that never
/// answers cannot grow it.
/// </summary>
internal sealed class IntentReplies
{
    /// <summary>The most request references remembered.</summary>
    public const int MaxPending = 1024;

    private readonly Dictionary<string, ResourceId> _resourceByRef = new(StringComparer.Ordinal);
    private readonly Dictionary<ResourceId, string> _newestByResource = [];
    private Queue<string> _order = new();

    /// <summary>The number of request references remembered.</summary>
    public int Count => _resourceByRef.Count;

    /// <summary>Entries of the eviction order, live or stale (for the bound test).</summary>
    internal int QueuedReferences => _order.Count;

    /// <summary>Records that the intent for <paramref name="resource"/> went out as request <paramref name="reference"/>.</summary>
    public void Sent(string reference, ResourceId resource)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (_resourceByRef.TryAdd(reference, resource))
        {
            _order.Enqueue(reference);
        }

        _newestByResource[resource] = reference;
        if (_order.Count > 2 * MaxPending)
        {
            // Accepted references leave stale entries behind: compact, keeping the order of the live ones.
            _order = new Queue<string>(_order.Where(_resourceByRef.ContainsKey));
        }

        while (_resourceByRef.Count > MaxPending && _order.TryDequeue(out var oldest))
        {
            if (_resourceByRef.Remove(oldest, out var r) && _newestByResource.TryGetValue(r, out var newest) && newest == oldest)
            {
                _newestByResource.Remove(r);
            }
        }
    }

    /// <summary>
    /// A reply to request <paramref name="reference"/> arrived: true (with its resource) when it is the newest request
    /// of that resource; then every intent of the resource is forgotten. False for older or unknown references (the
    /// older reference is forgotten).
    /// </summary>
    public bool TryAccept(string reference, out ResourceId resource)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (!_resourceByRef.Remove(reference, out resource))
        {
            return false;
        }

        if (!_newestByResource.TryGetValue(resource, out var newest) || newest != reference)
        {
            return false;
        }

        _newestByResource.Remove(resource);
        var forget = resource;
        foreach (var other in _resourceByRef.Where(kv => kv.Value == forget).Select(kv => kv.Key).ToList())
        {
            _resourceByRef.Remove(other);
        }

        return true;
    }
}
