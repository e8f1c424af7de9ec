using Asupersync.Kernel;

namespace Asupersync.Sync;

/// <summary>A hold on a primitive that knows its holder task, linked into the primitive's <see cref="HolderList{T}"/>.</summary>
/// <typeparam name="T">The hold type itself (a permit, a guard).</typeparam>
internal interface IHeld<T>
    where T : class, IHeld<T>
{
    /// <summary>The task holding it; null when taken outside a task (then the holders are not known).</summary>
    TaskCore? Holder { get; }

    /// <summary>Neighbours in the holder list (guarded by the primitive's lock).</summary>
    T? PrevHeld { get; set; }

    /// <summary>Neighbours in the holder list (guarded by the primitive's lock).</summary>
    T? NextHeld { get; set; }
}

/// <summary>
/// The holds a primitive has handed out and not yet taken back, as an intrusive doubly linked list (O(1) add and
/// remove, no allocation): the wait-for graph's edges from a waiter to the holders. Every call is made under the
/// primitive's own lock.
/// </summary>
/// <typeparam name="T">The hold type.</typeparam>
internal struct HolderList<T>
    where T : class, IHeld<T>
{
    private T? _head;

    /// <summary>Links <paramref name="hold"/> in and returns it.</summary>
    internal T Add(T hold)
    {
        hold.NextHeld = _head;
        if (_head is not null) _head.PrevHeld = hold;
        _head = hold;
        return hold;
    }

    /// <summary>Unlinks <paramref name="hold"/> (harmless when it is not linked).</summary>
    internal void Remove(T hold)
    {
        var prev = hold.PrevHeld;
        var next = hold.NextHeld;
        if (prev is not null) prev.NextHeld = next;
        else if (ReferenceEquals(_head, hold)) _head = next;
        if (next is not null) next.PrevHeld = prev;
        hold.PrevHeld = hold.NextHeld = null;
    }

    /// <summary>
    /// Adds every holder to <paramref name="into"/>; false when some hold has no known holder or there are more than
    /// <see cref="WaitForGraph.MaxHolders"/> (then the wait's targets are unknown).
    /// </summary>
    internal readonly bool AddHolders(List<TaskCore> into)
    {
        for (var h = _head; h is not null; h = h.NextHeld)
        {
            if (h.Holder is not { } holder || into.Count == WaitForGraph.MaxHolders) return false;
            into.Add(holder);
        }
        return true;
    }
}
