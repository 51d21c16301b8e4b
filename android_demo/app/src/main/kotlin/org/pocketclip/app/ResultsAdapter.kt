// The result grid: one thumbnail per hit, loaded off the main thread, score in the corner.
package org.pocketclip.app

import android.util.Size
import android.view.LayoutInflater
import android.view.View
import android.view.ViewGroup
import android.widget.ImageView
import android.widget.TextView
import androidx.lifecycle.LifecycleCoroutineScope
import androidx.recyclerview.widget.RecyclerView
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

class ResultsAdapter(private val scope: LifecycleCoroutineScope, private val onClick: (Hit) -> Unit) :
    RecyclerView.Adapter<ResultsAdapter.Holder>() {

    class Holder(view: View) : RecyclerView.ViewHolder(view) {
        val thumbnail: ImageView = view.findViewById(R.id.thumbnail)
        val score: TextView = view.findViewById(R.id.score)
        var job: Job? = null
    }

    private var hits: List<Hit> = emptyList()

    fun show(newHits: List<Hit>) {
        hits = newHits
        notifyDataSetChanged()
    }

    override fun getItemCount() = hits.size

    override fun onCreateViewHolder(parent: ViewGroup, viewType: Int) =
        Holder(LayoutInflater.from(parent.context).inflate(R.layout.item_photo, parent, false))

    override fun onBindViewHolder(holder: Holder, position: Int) {
        val hit = hits[position]
        holder.score.text = "%.3f".format(hit.score)
        holder.thumbnail.setImageDrawable(null)
        holder.itemView.setOnClickListener { onClick(hit) }
        holder.job?.cancel()
        val uri = hit.uri ?: return
        val resolver = holder.itemView.context.contentResolver
        holder.job = scope.launch {
            val bitmap = withContext(Dispatchers.IO) { runCatching { resolver.loadThumbnail(uri, Size(256, 256), null) }.getOrNull() }
            if (holder.bindingAdapterPosition == position) holder.thumbnail.setImageBitmap(bitmap)
        }
    }
}
